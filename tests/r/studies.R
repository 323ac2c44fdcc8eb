# Reference values for the three SIMULATED example studies of the study definition
# (tests/test_studies.py), computed by R from the simulators' per-record truth
# (data/examples/<shape>/truth/truth_SIMULATED.csv, analysed records only), never from the
# pipeline's output. What the pipeline will have to match once the study definition is merged.
# Usage: Rscript --vanilla tests/r/studies.R <project root> <output folder>
# Needs base R (stats) and the survival package.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
root <- if (length(args) >= 1) args[1] else "."
out <- if (length(args) >= 2) args[2] else file.path(root, "tests/fixtures/r")
dir.create(out, recursive = TRUE, showWarnings = FALSE)

write_out <- function(df, name) {
  for (j in seq_along(df)) if (is.character(df[[j]])) stopifnot(!any(grepl(",", df[[j]])))
  for (j in seq_along(df)) {
    if (is.numeric(df[[j]])) {
      x <- df[[j]]
      df[[j]] <- ifelse(is.na(x), "NA", sprintf("%.17g", x))
    }
  }
  write.csv(df, file.path(out, paste0("studies_", name, ".csv")), row.names = FALSE,
            quote = FALSE)
}

# shape -> exposure levels (reference first), whether pCR exists, endpoint id
studies <- list(
  her2low_registry = list(levels = c("0", "low"), pcr = FALSE, endpoint = "os"),
  three_arm_trial = list(levels = c("A", "B", "C"), pcr = TRUE, endpoint = "efs"),
  status_only = list(levels = c("negative", "positive"), pcr = TRUE, endpoint = "rfs")
)

for (shape in names(studies)) {
  s <- studies[[shape]]
  t <- read.csv(file.path(root, "data/examples", shape, "truth/truth_SIMULATED.csv"),
                stringsAsFactors = FALSE,
                colClasses = c(patient_id = "character", group_truth = "character",
                               pcr_truth = "character"))
  t <- t[t$disposition == "analysed", ]
  t$grp <- factor(t$group_truth, levels = s$levels)
  stopifnot(!any(is.na(t$grp)))
  # endpoint time in months: from whole days where the source gives days (1 month =
  # 365.25/12 days), else the months as written
  t$months <- if (all(is.na(t$time_days_truth))) t$time_months_truth else
    t$time_days_truth * 12 / 365.25
  t$event <- as.integer(t$event_truth)

  counts <- data.frame(group = s$levels,
                       n = as.vector(table(t$grp)),
                       endpoint_n = as.vector(tapply(!is.na(t$months), t$grp, sum)),
                       events = as.vector(tapply(t$event, t$grp, sum)))
  if (s$pcr) {
    p <- t[t$pcr_truth %in% c("True", "False"), ]
    counts$pcr_n <- as.vector(table(p$grp))
    counts$pcr <- as.vector(tapply(p$pcr_truth == "True", p$grp, sum))
    tab <- table(p$grp, p$pcr_truth == "True")
    chi <- suppressWarnings(chisq.test(tab, correct = FALSE))
    fis <- fisher.test(tab)
    write_out(data.frame(
      test = c("Pearson chi-square (no continuity correction)", "Fisher exact"),
      statistic = c(unname(chi$statistic), NA), df = c(unname(chi$parameter), NA),
      p = c(chi$p.value, fis$p.value)), paste0(shape, "_pcr_tests"))
  }
  write_out(counts, paste0(shape, "_counts"))

  d <- t[!is.na(t$months), ]
  km <- survfit(Surv(months, event) ~ grp, data = d, conf.type = "log")
  sm <- summary(km, times = c(12, 36, 60), extend = FALSE)
  write_out(data.frame(group = sub("grp=", "", as.character(sm$strata)), time = sm$time,
                       n_risk = sm$n.risk, surv = sm$surv, lower = sm$lower, upper = sm$upper,
                       ci_method = "log (survfit conf.type log; Greenwood SE)"),
            paste0(shape, "_km"))
  lr <- survdiff(Surv(months, event) ~ grp, data = d)
  k <- length(lr$n)
  write_out(data.frame(test = "log-rank", statistic = unname(lr$chisq), df = k - 1,
                       p = pchisq(lr$chisq, k - 1, lower.tail = FALSE)),
            paste0(shape, "_logrank"))
  fit <- coxph(Surv(months, event) ~ grp, data = d, ties = "efron")
  ci <- exp(confint(fit))
  sf <- summary(fit)
  co <- sf$coefficients
  write_out(data.frame(term = paste(s$levels[-1], "vs", s$levels[1]),
                       hr = unname(exp(coef(fit))), lower = unname(ci[, 1]),
                       upper = unname(ci[, 2]), p = unname(co[, "Pr(>|z|)"]),
                       test = "Wald", ci_method = "Wald (exp of coef +/- z * se)"),
            paste0(shape, "_cox"))
  write_out(data.frame(test = "likelihood ratio (exposure)",
                       statistic = unname(sf$logtest["test"]),
                       df = unname(sf$logtest["df"]),
                       p = unname(sf$logtest["pvalue"])),
            paste0(shape, "_cox_lr"))
}
