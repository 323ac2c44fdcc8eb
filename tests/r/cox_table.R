# Reference values for the survival stage's Cox table (univariable + multivariable, as the
# stage builds it: tests/test_cox_table_display.py): per variable the likelihood-ratio test
# of all its levels (anova for a univariable model, drop1 for the multivariable model), the
# hazard ratios, the model's n and events, and the patients and events per level of each
# variable among those with it recorded (the table's N and Events columns).
#
# Usage: Rscript --vanilla tests/r/cox_table.R [output directory]
#   (default tests/fixtures/r/cox_table).  R with 'survival'.
# Data: tests/fixtures/r/kgroups/lung.csv (survival::lung as written by kgroups.R), with
#   ecog a factor with levels 1, 0, 2 (reference 1 on purpose: not the sorted first level),
#   sex as a factor "male"/"female" (reference male), age and wt_loss numbers (wt_loss
#   missing for some patients, ph_ecog for one).
# Doubles are written with sprintf("%.17g") so they round-trip exactly.
options(warn = 1)
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else file.path("tests", "fixtures", "r", "cox_table")
dir.create(out, recursive = TRUE, showWarnings = FALSE)
self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
if (length(self) != 1) stop("run with Rscript: out.R is found next to the --file= script")
source(file.path(dirname(gsub("~+~", " ", self, fixed = TRUE)), "out.R"))  # write_csv17
write_out <- function(df, name) {
  write_csv17(df, file.path(out, name), na = "NA", quote_na_numbers = TRUE)
}

lung <- read.csv(file.path("tests", "fixtures", "r", "kgroups", "lung.csv"))
d <- data.frame(time = lung$time, status = lung$status,
                ecog = factor(lung$ph_ecog, levels = c(1, 0, 2)),
                sex = factor(ifelse(lung$sex == 1, "male", "female"),
                             levels = c("male", "female")),
                age = lung$age, wt_loss = lung$wt_loss)
vars <- c("ecog", "sex", "age", "wt_loss")

lr <- list(); hr <- list(); counts <- list()
coefs <- function(fit, model) {
  s <- summary(fit)
  data.frame(model = model, term = rownames(s$coefficients), hr = s$conf.int[, 1],
             lower = s$conf.int[, 3], upper = s$conf.int[, 4], p = s$coefficients[, 5],
             n = fit$n, events = fit$nevent)
}
for (v in vars) {
  dv <- d[!is.na(d[[v]]), c("time", "status", v)]
  fit <- coxph(as.formula(paste("Surv(time, status) ~", v)), data = dv)
  a <- anova(fit)
  lr[[v]] <- data.frame(model = "univariable", variable = v, df = a$Df[2],
                        statistic = a$Chisq[2], p = a[["Pr(>|Chi|)"]][2])
  hr[[v]] <- coefs(fit, "univariable")
  if (is.factor(dv[[v]])) {
    n <- table(dv[[v]]); ev <- tapply(dv$status, dv[[v]], sum)
    counts[[v]] <- data.frame(variable = v, level = names(n), n = as.vector(n),
                              events = as.vector(ev[names(n)]))
  } else {
    counts[[v]] <- data.frame(variable = v, level = "", n = nrow(dv), events = sum(dv$status))
  }
}
cc <- na.omit(d[, c("time", "status", vars)])
fit <- coxph(Surv(time, status) ~ ecog + sex + age + wt_loss, data = cc)
d1 <- drop1(fit, test = "Chisq")[-1, ]
lr[["multi"]] <- data.frame(model = "multivariable", variable = rownames(d1), df = d1$Df,
                            statistic = d1$LRT, p = d1[["Pr(>Chi)"]])
hr[["multi"]] <- coefs(fit, "multivariable")
write_out(do.call(rbind, lr), "lr.csv")
write_out(do.call(rbind, hr), "hr.csv")
write_out(do.call(rbind, counts), "counts.csv")
writeLines(R.version.string, file.path(out, "R_VERSION.txt"))
