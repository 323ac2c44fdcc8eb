# R's mice on SIMULATED data, for the Monte Carlo comparison with
# her2cohort.stats.pooling.impute_mice (tests/test_mice.py).
#
# Usage: Rscript --vanilla tests/r/mice_mc.R <input dir> <output dir>
#   input dir : tests/fixtures/r/mice (mc_data.csv, mc_full.csv written by
#               tests/mice_inputs.py)
#   output dir: where the CSV outputs go (the same folder when regenerating the fixtures)
# Needs mice and nnet (polyreg).  Doubles are written with %.17g.
#
# * mc_mice_pool.csv: mice(d, m = 50, maxit = 10, seed = 20261203) with the default methods
#   (pmm for x1, logreg for the 2-level factor x2, polyreg for the 3-level factor x3),
#   glm(y ~ x1 + x2 + x3 + x4, binomial) on each completed data set, pooled by mice::pool:
#   estimate, std_error, ubar, b, t, m.
# * mc_mice_imputed.csv: per imputation, the mean of the imputed x1 values and the share of
#   each imputed level of x2 and x3 (the imputation models compared directly).
# * mc_full_fit.csv: the same glm on the complete data (the truth before deletion).

options(warn = 1)
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript mice_mc.R <input dir> <output dir>")
indir <- args[1]
outdir <- args[2]
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
suppressPackageStartupMessages({
  library(mice)
  library(nnet)
})

self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
if (length(self) != 1) stop("run with Rscript: out.R is found next to the --file= script")
source(file.path(dirname(gsub("~+~", " ", self, fixed = TRUE)), "out.R"))  # write_csv17
out <- function(df, name) write_csv17(df, file.path(outdir, paste0(name, ".csv")), na = "")

prep <- function(d) {
  d$x2 <- factor(d$x2, levels = c("no", "yes"))
  d$x3 <- factor(d$x3, levels = c("a", "b", "c"))
  d
}
d <- prep(read.csv(file.path(indir, "mc_data.csv"), stringsAsFactors = FALSE,
                   na.strings = c("", "NA")))
full <- prep(read.csv(file.path(indir, "mc_full.csv"), stringsAsFactors = FALSE))
form <- y ~ x1 + x2 + x3 + x4

imp <- mice(d, m = 50, maxit = 10, seed = 20261203, printFlag = FALSE)
stopifnot(identical(unname(imp$method), c("", "pmm", "logreg", "polyreg", "")))
fits <- with(imp, glm(y ~ x1 + x2 + x3 + x4, family = binomial))
pl <- pool(fits)
s <- summary(pl)
out(data.frame(term = as.character(s$term), estimate = s$estimate, std_error = s$std.error,
               ubar = pl$pooled$ubar, b = pl$pooled$b, t = pl$pooled$t, m = pl$m),
    "mc_mice_pool")

per <- do.call(rbind, lapply(seq_len(imp$m), function(i) {
  data.frame(imputation = i,
             x1_mean = mean(imp$imp$x1[[i]]),
             x2_yes = mean(imp$imp$x2[[i]] == "yes"),
             x3_b = mean(imp$imp$x3[[i]] == "b"),
             x3_c = mean(imp$imp$x3[[i]] == "c"))
}))
out(per, "mc_mice_imputed")

ff <- glm(form, family = binomial, data = full)
out(data.frame(term = names(coef(ff)), estimate = unname(coef(ff)),
               std_error = unname(sqrt(diag(vcov(ff))))), "mc_full_fit")
