# Reference values for the SIMULATED example shapes (tests/test_shapes.py), computed by R from
# the simulators' per-patient truth (data/examples/<shape>/truth/truth_SIMULATED.csv), never
# from the pipeline's output.
# Usage: Rscript --vanilla tests/r/shapes.R <project root> <output folder>
# Needs base R (stats) and the survival package.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
root <- if (length(args) >= 1) args[1] else "."
out <- if (length(args) >= 2) args[2] else file.path(root, "tests/fixtures/r/shapes")
dir.create(out, recursive = TRUE, showWarnings = FALSE)

write_out <- function(df, name) {
  for (j in seq_along(df)) {
    if (is.numeric(df[[j]])) {
      x <- df[[j]]
      df[[j]] <- ifelse(is.na(x), "NA", sprintf("%.17g", x))
    }
  }
  write.csv(df, file.path(out, paste0(name, ".csv")), row.names = FALSE, quote = FALSE)
}

truth <- function(shape) {
  t <- read.csv(file.path(root, "data/examples", shape, "truth/truth_SIMULATED.csv"),
                stringsAsFactors = FALSE, colClasses = c(patient_id = "character"))
  t <- t[t$disposition == "included", ]
  t$pcr <- as.integer(t$pcr_truth == "True")
  t
}

rates <- function(t, group, levels) {
  do.call(rbind, lapply(levels, function(lv) {
    g <- t[t[[group]] == lv, ]
    ci <- prop.test(sum(g$pcr), nrow(g), correct = FALSE)$conf.int  # Wilson score
    data.frame(group = lv, n = nrow(g), events = sum(g$pcr), lower = 100 * ci[1],
               upper = 100 * ci[2])
  }))
}

# --- trial: pCR by HER2 IHC class (Fisher's exact test, as config/examples/trial sets) ------
tr <- truth("trial")
tr$grp <- factor(tr$her2_class_truth, levels = c("3+", "2+/ISH+"))
tests <- data.frame(subset = "all", p = fisher.test(table(tr$grp, tr$pcr))$p.value)
for (lv in levels(tr$grp)) {
  s <- tr[tr$grp == lv, ]
  s$anti <- factor(s$anti_her2_truth, levels = c("single", "dual"))
  tests <- rbind(tests, data.frame(subset = lv,
                                   p = fisher.test(table(s$anti, s$pcr))$p.value))
}
write_out(tests, "trial_pcr_tests")
write_out(rates(tr, "her2_class_truth", c("3+", "2+/ISH+")), "trial_pcr_rates")

# --- registry: pCR (Pearson chi-square) and DFS by anti-HER2 -------------------------------
rg <- truth("registry")
rg$grp <- factor(rg$anti_her2_truth, levels = c("single", "dual"))
chi <- chisq.test(table(rg$grp, rg$pcr), correct = FALSE)
write_out(data.frame(subset = "all", statistic = unname(chi$statistic),
                     df = unname(chi$parameter), p = chi$p.value), "registry_pcr_tests")
write_out(rates(rg, "anti_her2_truth", c("single", "dual")), "registry_pcr_rates")

d <- rg[!is.na(rg$dfs_days_truth), ]
d$months <- d$dfs_days_truth * 12 / 365.25  # days -> months, 1 month = 365.25/12 days
d$event <- as.integer(d$dfs_event_truth)
lr <- survdiff(Surv(months, event) ~ grp, data = d)
write_out(data.frame(statistic = unname(lr$chisq), df = length(lr$n) - 1,
                     p = pchisq(lr$chisq, length(lr$n) - 1, lower.tail = FALSE)),
          "registry_dfs_logrank")
fit <- coxph(Surv(months, event) ~ grp, data = d, ties = "efron")
ci <- exp(confint(fit))
write_out(data.frame(term = "dual vs single", hr = unname(exp(coef(fit))),
                     lower = unname(ci[1, 1]), upper = unname(ci[1, 2]),
                     p = summary(fit)$coefficients[1, "Pr(>|z|)"]), "registry_dfs_cox")
km <- survfit(Surv(months, event) ~ grp, data = d, conf.type = "log-log")
s <- summary(km, times = c(36, 60), extend = FALSE)
write_out(data.frame(group = sub("grp=", "", as.character(s$strata)), time = s$time,
                     surv = s$surv, lower = s$lower, upper = s$upper, n_risk = s$n.risk),
          "registry_dfs_landmarks")
ev <- aggregate(event ~ grp, data = d, FUN = sum)
nn <- aggregate(event ~ grp, data = d, FUN = length)
write_out(data.frame(group = as.character(ev$grp), n = nn$event, events = ev$event),
          "registry_dfs_counts")
