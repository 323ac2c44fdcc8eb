# The statistics of the default her2cohort pipeline, as a plain R script would compute them on
# the same analysed patients (benchmarks/bench_pipeline.py exports them to CSV and times this
# script beside the pipeline). Not a cross-check of values (tests/r/ does that): a measure of
# what the tool users would otherwise pick costs.
# Usage: Rscript benchmarks/reference.R analysis.csv m
suppressMessages({
  library(survival)
  library(MASS)
  library(mice)
})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = TRUE)
m <- if (length(args) > 1) as.integer(args[2]) else 20L
d$group <- relevel(factor(d$her2_class), ref = "3+")
d$pcr <- as.integer(d$pcr == "True" | d$pcr == "true" | d$pcr == 1)
covs <- c("hr_status", "ct", "cn", "ki67_group", "anti_her2", "grade")
for (v in covs) d[[v]] <- factor(d[[v]])
t0 <- proc.time()[["elapsed"]]

# Table 1: categorical (Pearson, or Fisher where an expected count < 5) and continuous (Wilcoxon)
for (v in c(covs, "centre", "age_group", "stage")) {
  tb <- table(d[[v]], d$group)
  tb <- tb[rowSums(tb) > 0, , drop = FALSE]
  if (nrow(tb) < 2) next
  e <- suppressWarnings(chisq.test(tb, correct = FALSE))
  if (any(e$expected < 5)) fisher.test(tb, simulate.p.value = TRUE, B = 2000) else e
}
lv <- levels(d$group)
for (v in c("age", "tumour_size_mm", "er_pct", "ki67_pct")) {
  x <- suppressWarnings(as.numeric(as.character(d[[v]])))
  wilcox.test(x[d$group == lv[1]], x[d$group == lv[2]])
}

# pCR: by group (test + Wilson CI), within each group by treatment, logistic model with
# profile-likelihood CIs and likelihood-ratio tests per variable
chisq.test(table(d$group, d$pcr), correct = FALSE)
for (g in levels(d$group)) {
  s <- d[d$group == g, ]
  prop.test(sum(s$pcr), nrow(s), correct = FALSE)
  tb <- table(s$anti_her2, s$pcr)
  if (all(dim(tb) == 2)) fisher.test(tb)
}
f <- reformulate(c("group", covs), "pcr")
fit <- glm(f, binomial, d)
suppressMessages(confint(fit))
drop1(fit, test = "LRT")

# every endpoint: Kaplan-Meier, log-rank, Cox with cox.zph, IPTW inside each group
for (ep in c("dfs", "os", "efs")) {
  tcol <- paste0(ep, "_months")
  ecol <- paste0(ep, "_event")
  if (!tcol %in% names(d)) next
  s <- d[!is.na(d[[tcol]]) & !is.na(d[[ecol]]), ]
  s$time <- s[[tcol]]
  s$event <- as.integer(s[[ecol]] == "True" | s[[ecol]] == "true" | s[[ecol]] == 1)
  km <- survfit(Surv(time, event) ~ group, s)
  summary(km, times = c(36, 60), extend = TRUE)
  survdiff(Surv(time, event) ~ group, s)
  cx <- coxph(Surv(time, event) ~ group + hr_status + ct + cn, s)
  cox.zph(cx)
  for (g in levels(s$group)) {
    sg <- s[s$group == g, ]
    ps <- fitted(glm(I(anti_her2 == "dual") ~ hr_status + ct + cn, binomial, sg))
    w <- ifelse(sg$anti_her2 == "dual", 1 / ps, 1 / (1 - ps))
    coxph(Surv(time, event) ~ anti_her2, sg, weights = w, robust = TRUE)
  }
}
t1 <- proc.time()[["elapsed"]]

# multiple imputation of the pCR model's covariates (mice defaults), pooled logistic model
imp <- mice(d[, c("pcr", "group", covs, "age")], m = m, maxit = 10, printFlag = FALSE,
            seed = 20250630)
summary(pool(with(imp, glm(pcr ~ group + hr_status + ct + cn + ki67_group + anti_her2 + grade,
                           family = binomial))))
t2 <- proc.time()[["elapsed"]]
cat(sprintf("statistics %.2f\nmice %.2f\n", t1 - t0, t2 - t1))
