# Reference values for tests/test_words.py: the headline estimates of a three-group comparison,
# on survival::lung (tests/fixtures/r/km/lung.csv, written by tests/r/km.R) with ph.ecog 0, 1, 2
# as the three groups (0 = reference; the one patient with ph.ecog 3 and the one missing left
# out), time in days, landmark 365 days, and sex == 2 as a binary outcome (a constructed
# "response" for the proportions: the data are R's, not a study's).
# Usage: Rscript tests/r/headline_k3.R <lung.csv> <output dir>
suppressPackageStartupMessages({library(survival); library(MASS)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
d <- d[!is.na(d$ph.ecog) & d$ph.ecog %in% 0:2, ]
d$group <- factor(d$ph.ecog, levels = 0:2)
d$y <- as.integer(d$sex == 2)
out <- list()
add <- function(key, value) out[[length(out) + 1]] <<- data.frame(key = key, value = value)
lr <- survdiff(Surv(time, event) ~ group, data = d)
add("logrank_chisq", lr$chisq)
add("logrank_p", pchisq(lr$chisq, 2, lower.tail = FALSE))
fit <- coxph(Surv(time, event) ~ group, data = d, ties = "efron")
s <- summary(fit)
for (j in 1:2) {
  add(paste0("hr_", j), s$conf.int[j, 1])
  add(paste0("hr_lower_", j), s$conf.int[j, 3])
  add(paste0("hr_upper_", j), s$conf.int[j, 4])
  add(paste0("hr_p_", j), s$coefficients[j, 5])
}
add("cox_lr_chisq", s$logtest[["test"]])
add("cox_lr_p", s$logtest[["pvalue"]])
km <- summary(survfit(Surv(time, event) ~ group, data = d), times = 365)
for (j in 1:3) {
  add(paste0("surv365_", j - 1), km$surv[j])
  add(paste0("surv365_lower_", j - 1), km$lower[j])
  add(paste0("surv365_upper_", j - 1), km$upper[j])
}
add("chisq_p", chisq.test(table(d$group, d$y), correct = FALSE)$p.value)
g <- glm(y ~ group, family = binomial, data = d)
ci <- suppressMessages(confint(g))
for (j in 1:2) {
  add(paste0("or_", j), exp(coef(g))[j + 1])
  add(paste0("or_lower_", j), exp(ci[j + 1, 1]))
  add(paste0("or_upper_", j), exp(ci[j + 1, 2]))
}
res <- do.call(rbind, out)
res$value <- sprintf("%.17g", res$value)
dir.create(args[2], showWarnings = FALSE, recursive = TRUE)
write.csv(res, file.path(args[2], "lung3.csv"), row.names = FALSE)
