# Reference values for her2cohort.stats.kgroups and the k-group parts of cox_table
# (tests/test_kgroups.py).
#
# Usage: Rscript --vanilla tests/r/kgroups.R [output directory]
#   (default tests/fixtures/r/kgroups).  R with 'survival' (lung data set).
# Doubles are written with sprintf("%.17g") so they round-trip exactly.
#
# Data (written out so Python reads exactly what R used):
#   props3.csv   SIMULATED: 3 groups, 0/1 outcome y and a 3-level category cat3
#   props4.csv   SIMULATED: 4 groups, two of them without events (a pair with no events)
#   small3.csv   SIMULATED: 3 small groups (expected counts < 5)
#   lung.csv     survival::lung (time, status 0/1, ph_ecog, age, sex, wt_loss), ph.ecog 3
#                (one patient) removed, ph.ecog NA kept
# Results:
#   overall.csv  chisq.test(correct = FALSE) / fisher.test on 2 x 3, 3 x 3, 2 x 4 tables;
#                prop.trend.test
#   pairwise_prop.csv  pairwise.prop.test(correct = FALSE and TRUE) and fisher.test per pair,
#                p.adjust holm / bonferroni / none
#   padjust.csv  p.adjust on a fixed vector with NA
#   logrank.csv  survdiff with 3 groups (and + strata(sex))
#   pairwise_logrank.csv  survdiff per pair (+ strata), p.adjust
#   trend.csv    log-rank trend from survdiff obs/exp/var; coxph(~ as.numeric score)$score
#   cox_lr.csv   anova(coxph(~ factor)), drop1(coxph(...), test = "Chisq")
#   cox_coef.csv coefficients of the factor models (k - 1 terms, reference first level)
#   glm_drop1.csv drop1(glm(status ~ factor(ph.ecog) + age, binomial), test = "LRT")
options(warn = 1)
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else file.path("tests", "fixtures", "r", "kgroups")
dir.create(out, recursive = TRUE, showWarnings = FALSE)

self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
if (length(self) != 1) stop("run with Rscript: out.R is found next to the --file= script")
source(file.path(dirname(gsub("~+~", " ", self, fixed = TRUE)), "out.R"))  # write_csv17
write_out <- function(df, name) {
  write_csv17(df, file.path(out, name), na = "NA", quote_na_numbers = TRUE)
}

# ------------------------------------------------------------------ data (SIMULATED)
set.seed(20250314)
mk <- function(n, ev, g) data.frame(grp = g, y = sample(rep(c(1, 0), c(ev, n - ev))))
props3 <- rbind(mk(40, 12, "A"), mk(35, 18, "B"), mk(30, 22, "C"))
props3$cat3 <- sample(c("x", "y", "z"), nrow(props3), replace = TRUE,
                      prob = c(0.5, 0.3, 0.2))
props3$cat3[props3$grp == "C"] <- sample(c("x", "y", "z"), 30, replace = TRUE,
                                         prob = c(0.2, 0.3, 0.5))
props4 <- rbind(mk(40, 10, "A"), mk(35, 18, "B"), mk(12, 0, "C"), mk(9, 0, "D"))
small3 <- rbind(mk(8, 1, "A"), mk(7, 4, "B"), mk(6, 5, "C"))
write_out(props3, "props3.csv")
write_out(props4, "props4.csv")
write_out(small3, "small3.csv")

lung2 <- subset(survival::lung, is.na(ph.ecog) | ph.ecog < 3)
lung2 <- data.frame(time = lung2$time, status = lung2$status - 1, ph_ecog = lung2$ph.ecog,
                    age = lung2$age, sex = lung2$sex, wt_loss = lung2$wt.loss)
write_out(lung2, "lung.csv")

# ------------------------------------------------------------------ overall tests
ov <- list()
add_ov <- function(id, test, stat, df, p) ov[[length(ov) + 1]] <<-
  data.frame(id = id, test = test, statistic = stat, df = df, p = p)
for (nm in c("props3", "props4", "small3")) {
  d <- get(nm)
  tab <- table(factor(d$y, levels = c(1, 0)), d$grp)
  ct <- suppressWarnings(chisq.test(tab, correct = FALSE))
  add_ov(nm, "pearson", unname(ct$statistic), unname(ct$parameter), ct$p.value)
  add_ov(nm, "fisher", NA, NA, fisher.test(tab)$p.value)
  x <- tab[1, ]; n <- colSums(tab)
  tr <- prop.trend.test(x, n)
  add_ov(nm, "trend", unname(tr$statistic), unname(tr$parameter), tr$p.value)
  tr2 <- prop.trend.test(x, n, score = c(0, 1, 3, 4)[seq_along(x)])
  add_ov(nm, "trend_scores_0134", unname(tr2$statistic), unname(tr2$parameter), tr2$p.value)
}
tab33 <- table(props3$cat3, props3$grp)
ct <- chisq.test(tab33)
add_ov("props3_cat3", "pearson", unname(ct$statistic), unname(ct$parameter), ct$p.value)
add_ov("props3_cat3", "fisher", NA, NA, fisher.test(tab33)$p.value)
write_out(do.call(rbind, ov), "overall.csv")

# ------------------------------------------------------------------ pairwise proportions
pw <- list()
for (nm in c("props3", "props4", "small3")) {
  d <- get(nm)
  tab <- table(factor(d$y, levels = c(1, 0)), d$grp)
  x <- tab[1, ]; n <- colSums(tab); lv <- colnames(tab)
  for (test in c("pearson", "yates", "fisher")) {
    for (adj in c("holm", "bonferroni", "none")) {
      if (test == "fisher") {
        pm <- pairwise.table(function(i, j) fisher.test(tab[, c(i, j)])$p.value, lv, adj)
      } else {
        pm <- suppressWarnings(pairwise.prop.test(x, n, p.adjust.method = adj,
                                                  correct = (test == "yates")))$p.value
      }
      for (j in seq_len(ncol(pm))) for (i in seq_len(nrow(pm))) {
        a <- colnames(pm)[j]; b <- rownames(pm)[i]
        if (match(a, lv) < match(b, lv))
          pw[[length(pw) + 1]] <- data.frame(id = nm, test = test, adjust = adj,
                                             level_a = a, level_b = b, p_adjusted = pm[i, j])
      }
    }
  }
}
write_out(do.call(rbind, pw), "pairwise_prop.csv")

pv <- c(0.01, 0.04, NA, 0.03, 0.2, 0.04, 0.9)
write_out(data.frame(p = pv, holm = p.adjust(pv, "holm"),
                     bonferroni = p.adjust(pv, "bonferroni")), "padjust.csv")

# ------------------------------------------------------------------ log-rank, k groups
lr <- list()
sd0 <- survdiff(Surv(time, status) ~ ph_ecog, data = lung2)
sd1 <- survdiff(Surv(time, status) ~ ph_ecog + strata(sex), data = lung2)
for (m in list(list("plain", sd0), list("strata_sex", sd1))) {
  s <- m[[2]]
  lr[[m[[1]]]] <- data.frame(model = m[[1]], statistic = s$chisq,
                             df = length(s$n) - 1, p = pchisq(s$chisq, length(s$n) - 1,
                                                              lower.tail = FALSE),
                             n = sum(s$n))
}
write_out(do.call(rbind, lr), "logrank.csv")

pl <- list()
lv <- c(0, 1, 2)
for (st in c("none", "sex")) {
  ps <- c(); rows <- list()
  for (ij in combn(3, 2, simplify = FALSE)) {
    d <- subset(lung2, ph_ecog %in% lv[ij])
    f <- if (st == "none") Surv(time, status) ~ ph_ecog else
      Surv(time, status) ~ ph_ecog + strata(sex)
    s <- survdiff(f, data = d)
    p <- pchisq(s$chisq, 1, lower.tail = FALSE)
    ps <- c(ps, p)
    rows[[length(rows) + 1]] <- data.frame(strata = st, level_a = lv[ij[1]],
                                           level_b = lv[ij[2]], statistic = s$chisq, p = p)
  }
  r <- do.call(rbind, rows)
  r$holm <- p.adjust(ps, "holm"); r$bonferroni <- p.adjust(ps, "bonferroni")
  pl[[st]] <- r
}
write_out(do.call(rbind, pl), "pairwise_logrank.csv")

# ------------------------------------------------------------------ trend
tr <- list()
trend_lr <- function(s, sc) {
  o <- if (is.matrix(s$obs)) rowSums(s$obs) else s$obs
  e <- if (is.matrix(s$exp)) rowSums(s$exp) else s$exp
  u <- sum(sc * (o - e)); v <- drop(t(sc) %*% s$var %*% sc)
  u^2 / v
}
add_tr <- function(id, stat) tr[[length(tr) + 1]] <<-
  data.frame(id = id, statistic = stat, p = pchisq(stat, 1, lower.tail = FALSE))
add_tr("logrank", trend_lr(sd0, 1:3))
add_tr("logrank_strata_sex", trend_lr(sd1, 1:3))
add_tr("logrank_scores_013", trend_lr(sd0, c(0, 1, 3)))
lung2$score <- as.numeric(factor(lung2$ph_ecog))
lung2$score013 <- c(0, 1, 3)[lung2$score]
add_tr("cox_efron", coxph(Surv(time, status) ~ score, data = lung2)$score)
add_tr("cox_breslow", coxph(Surv(time, status) ~ score, data = lung2, ties = "breslow")$score)
add_tr("cox_efron_strata_sex",
       coxph(Surv(time, status) ~ score + strata(sex), data = lung2)$score)
add_tr("cox_efron_scores_013", coxph(Surv(time, status) ~ score013, data = lung2)$score)
write_out(do.call(rbind, tr), "trend.csv")

# ------------------------------------------------------------------ Cox LR tests
cl <- list(); cc <- list()
lung2$ecog <- factor(lung2$ph_ecog, levels = c(1, 0, 2))   # reference 1 on purpose
# drop1 refits on the data given and stops when rows change ("number of rows in use has
# changed"), so the models get the complete cases of their variables (na.omit), which is
# what cox_term_tests does
cc_data <- na.omit(lung2[, c("time", "status", "ecog", "age", "sex", "wt_loss")])
fits <- list(
  uni = coxph(Surv(time, status) ~ ecog, data = lung2),
  multi = coxph(Surv(time, status) ~ ecog + age + sex + wt_loss, data = cc_data),
  multi_strata = coxph(Surv(time, status) ~ ecog + age + wt_loss + strata(sex), data = cc_data),
  multi_breslow = coxph(Surv(time, status) ~ ecog + age + sex,
                        data = na.omit(lung2[, c("time", "status", "ecog", "age", "sex")]),
                        ties = "breslow")
)
for (nm in names(fits)) {
  fit <- fits[[nm]]
  if (nm == "uni") {
    a <- anova(fit)
    cl[[nm]] <- data.frame(model = nm, variable = "ecog", df = a$Df[2], statistic = a$Chisq[2],
                           p = a[["Pr(>|Chi|)"]][2], loglik = fit$loglik[2], n = fit$n,
                           events = fit$nevent)
  } else {
    d1 <- drop1(fit, test = "Chisq")[-1, ]
    cl[[nm]] <- data.frame(model = nm, variable = rownames(d1), df = d1$Df, statistic = d1$LRT,
                           p = d1[["Pr(>Chi)"]], loglik = fit$loglik[2], n = fit$n,
                           events = fit$nevent)
  }
  s <- summary(fit)$coefficients
  cc[[nm]] <- data.frame(model = nm, term = rownames(s), coef = s[, 1], se = s[, 3],
                         p = s[, 5])
}
write_out(do.call(rbind, cl), "cox_lr.csv")
write_out(do.call(rbind, cc), "cox_coef.csv")

# ------------------------------------------------------------------ logistic, 3-level exposure
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
g <- glm(status ~ ecog + age, family = binomial, data = lung2, control = ctl)
d1 <- drop1(g, test = "LRT")[-1, ]
write_out(data.frame(variable = rownames(d1), df = d1$Df, deviance = d1$Deviance,
                     lrt = d1$LRT, p = d1[["Pr(>Chi)"]]), "glm_drop1.csv")
writeLines(R.version.string, file.path(out, "R_VERSION.txt"))
