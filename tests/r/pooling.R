# R reference values for her2cohort.stats.pooling (tests/test_pooling.py).
#
# Usage: Rscript --vanilla tests/r/pooling.R <input dir> <output dir>
#   input dir : tests/fixtures/r/pooling (lung_imputed.csv: the m completed data sets made
#               by her2cohort.stats.pooling.impute_mice, long format with column .imp;
#               written by tests/pooling_inputs.py from lung.csv)
#   output dir: where the CSV outputs go (the same folder when regenerating the fixtures)
# Needs survival (lung) and mice.  Doubles are written with %.17g.
# Regenerate: Rscript tests/r/pooling.R <empty dir> tests/fixtures/r/pooling (lung.csv only),
#   python tests/pooling_inputs.py, then Rscript tests/r/pooling.R tests/fixtures/r/pooling
#   tests/fixtures/r/pooling.
#
# * lung.csv: survival::lung with dead = status == 2 and sex as "male"/"female".
# * pool_lung.csv: glm(dead ~ age + sex + ph.ecog + meal.cal + wt.loss, binomial) on each
#   completed data set, pooled by mice::pool(as.mira(fits)) (dfcom = df.residual of the
#   glm), summary(conf.int = TRUE) plus the pooled components (ubar, b, t, riv, lambda, fmi).
#   Each glm is refitted from its estimate (epsilon 1e-14) so that its standard errors are
#   those at the estimate (see tests/r/logistic.R).
# * pool_lung_cox.csv: coxph(Surv(time, dead) ~ age + sex + ph.ecog + meal.cal + wt.loss)
#   (Efron ties, default control) on each completed data set of lung_cox_imputed.csv (made by
#   her2cohort.stats.pooling.impute_for_cox), pooled by mice::pool(as.mira(fits)); mice takes
#   the complete-data df of a coxph fit as events - coefficients (get.dfcom, needs broom).
# * pool_scalar.csv: mice::pool.scalar() on fixed numbers (m = 2, 3, 5, 20; dfcom finite and
#   infinite; between-imputation variance 0) for the generic Rubin's-rules function.

options(warn = 1)
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript pooling.R <input dir> <output dir>")
indir <- args[1]
outdir <- args[2]
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
suppressPackageStartupMessages({
  library(survival)
  library(mice)
})

self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
if (length(self) != 1) stop("run with Rscript: out.R is found next to the --file= script")
source(file.path(dirname(gsub("~+~", " ", self, fixed = TRUE)), "out.R"))  # write_csv17
out <- function(df, name) write_csv17(df, file.path(outdir, paste0(name, ".csv")), na = "")

lung <- survival::lung
lung$dead <- as.integer(lung$status == 2)
lung$status <- NULL
lung$sex <- ifelse(lung$sex == 1, "male", "female")
out(lung, "lung")

ctl <- glm.control(epsilon = 1e-14, maxit = 200)
if (!file.exists(file.path(indir, "lung_imputed.csv"))) {
  message("no lung_imputed.csv in ", indir, ": wrote lung.csv only")
  quit(save = "no", status = 0)
}
long <- read.csv(file.path(indir, "lung_imputed.csv"), stringsAsFactors = FALSE)
long$sex <- factor(long$sex, levels = c("male", "female"))
fits <- lapply(sort(unique(long$.imp)), function(i) {
  d <- long[long$.imp == i, ]
  f <- glm(dead ~ age + sex + ph.ecog + meal.cal + wt.loss, family = binomial, data = d,
           control = ctl)
  glm(dead ~ age + sex + ph.ecog + meal.cal + wt.loss, family = binomial, data = d,
      control = ctl, start = coef(f))
})
pl <- pool(as.mira(fits))
s <- summary(pl, conf.int = TRUE)
pooled <- pl$pooled
out(data.frame(term = as.character(s$term), m = pooled$m, estimate = s$estimate,
               std_error = s$std.error, statistic = s$statistic, df = s$df, p = s$p.value,
               lower = s[["2.5 %"]], upper = s[["97.5 %"]], ubar = pooled$ubar, b = pooled$b,
               t = pooled$t, dfcom = pooled$dfcom, riv = pooled$riv, lambda = pooled$lambda,
               fmi = pooled$fmi), "pool_lung")

clong <- read.csv(file.path(indir, "lung_cox_imputed.csv"), stringsAsFactors = FALSE)
clong$sex <- factor(clong$sex, levels = c("male", "female"))
cfits <- lapply(sort(unique(clong$.imp)), function(i) {
  coxph(Surv(time, dead) ~ age + sex + ph.ecog + meal.cal + wt.loss,
        data = clong[clong$.imp == i, ], ties = "efron")
})
cpl <- pool(as.mira(cfits))
cs <- summary(cpl, conf.int = TRUE)
cpooled <- cpl$pooled
out(data.frame(term = as.character(cs$term), m = cpooled$m, estimate = cs$estimate,
               std_error = cs$std.error, statistic = cs$statistic, df = cs$df,
               p = cs$p.value, lower = cs[["2.5 %"]], upper = cs[["97.5 %"]],
               ubar = cpooled$ubar, b = cpooled$b, t = cpooled$t, dfcom = cpooled$dfcom,
               riv = cpooled$riv, lambda = cpooled$lambda, fmi = cpooled$fmi),
    "pool_lung_cox")

cases <- list(
  list(id = "m2_inf", Q = c(0.31, 0.45), U = c(0.010, 0.012), n = Inf),
  list(id = "m3_df30", Q = c(1.2, 0.9, 1.5), U = c(0.20, 0.25, 0.22), n = 31),
  list(id = "m5_df200", Q = c(-0.5, -0.42, -0.61, -0.55, -0.47),
       U = c(0.04, 0.041, 0.039, 0.043, 0.040), n = 201),
  list(id = "m5_b0", Q = rep(0.7, 5), U = rep(0.09, 5), n = 101),
  list(id = "m20_inf", Q = 0.2 + sin(1:20) / 10, U = 0.03 + cos(1:20) / 500, n = Inf)
)
rows <- lapply(cases, function(cs) {
  r <- pool.scalar(cs$Q, cs$U, n = cs$n, k = 1)
  data.frame(id = cs$id, m = r$m, qbar = r$qbar, ubar = r$ubar, b = r$b, t = r$t, df = r$df,
             riv = r$r, fmi = r$fmi, dfcom = cs$n - 1,
             q = paste(sprintf("%.17g", cs$Q), collapse = ";"),
             u = paste(sprintf("%.17g", cs$U), collapse = ";"))
})
out(do.call(rbind, rows), "pool_scalar")
