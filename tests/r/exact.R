# Reference values for her2cohort.stats.exact (tests/test_exact.py).
#
# Usage: Rscript --vanilla tests/r/exact.R [output directory]
#   (default tests/fixtures/r/exact).  Base R only (stats, datasets).
# Doubles are written with sprintf("%.17g") so they round-trip exactly.
#
# Contents:
#   fisher_tables.csv  the contingency tables (counts in column-major order)
#   fisher.csv         fisher.test p-values; for 2 x 2 also the conditional MLE odds ratio
#                      and its exact 95% CI, computed with fisher.test's own code but
#                      uniroot(tol = 1e-12) (the default tol ~1e-4 is too coarse to compare)
#   fisher_2x2.csv     2 x 2 tables with margins up to 10^6: fisher.test as printed (default
#                      uniroot tol) and with uniroot(tol = 1e-300) (machine precision)
#   dhyper.csv         dhyper(log = TRUE) at large margins
#   mh_*.csv           the data sets given to mantelhaen.test (long format, one row per
#                      patient, or with a count column for UCBAdmissions / esoph)
#   mh.csv             mantelhaen.test (correct = TRUE and FALSE, exact = TRUE) and the
#                      Breslow-Day test with Tarone's correction (formula below)
#   trend_*.csv, trend.csv   prop.trend.test inputs and results
options(warn = 1)
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else file.path("tests", "fixtures", "r", "exact")
dir.create(out, recursive = TRUE, showWarnings = FALSE)

self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
if (length(self) != 1) stop("run with Rscript: out.R is found next to the --file= script")
source(file.path(dirname(gsub("~+~", " ", self, fixed = TRUE)), "out.R"))  # write_csv17
write_out <- function(df, name) {
  write_csv17(df, file.path(out, name), na = "NA", quote_na_numbers = TRUE)
}

fisher_tight <- fisher.test
environment(fisher_tight) <- list2env(
  list(uniroot = function(f, interval, ...) stats::uniroot(f, interval, ..., tol = 1e-12)),
  parent = environment(fisher.test))

# ------------------------------------------------------------------ Fisher's exact test
set.seed(20241123)
tables <- list(
  t2x2 = matrix(c(13, 6, 55, 43), 2),                              # STUDY.md pCR example
  t2x3 = matrix(c(3, 10, 4, 2, 7, 1), 2),
  t3x3 = matrix(c(2, 4, 1, 5, 1, 2, 1, 3, 6), 3),
  t4x5 = matrix(c(3, 1, 0, 2, 1, 4, 2, 0, 0, 2, 5, 1, 2, 0, 3, 4, 4, 1, 1, 3), 4),
  t7x2_n430 = matrix(c(60, 80, 70, 50, 40, 30, 10, 5, 10, 12, 15, 20, 18, 10), 7),
  t5x4_sparse = matrix(c(2, 0, 1, 0, 3, 0, 3, 0, 1, 0, 1, 0, 0, 4, 0, 0, 1, 2, 0, 1), 5),
  t4x3 = matrix(c(20, 18, 5, 3, 15, 25, 12, 8, 12, 9, 20, 14), 4),
  t3x4_zero_row = matrix(c(2, 0, 3, 1, 0, 0, 4, 0, 1, 0, 0, 5), 3),
  t3x3_1to9 = matrix(1:9, 3, byrow = TRUE),
  t3x3_ties = matrix(c(3, 1, 1, 1, 3, 1, 1, 1, 3), 3),              # many equally likely tables
  # larger tables (issue 17): 4 x 3 with n = 906 (R: 3-18 s each), 2 x 5 with n = 2000
  t4x3_n906_a = rbind(c(300, 200, 130), c(60, 50, 25), c(40, 35, 10), c(20, 21, 15)),
  t4x3_n906_c = rbind(c(150, 140, 90), c(140, 150, 110), c(30, 30, 20), c(10, 20, 16)),
  t4x3_n906_d = rbind(c(160, 135, 85), c(135, 155, 110), c(30, 30, 20), c(10, 20, 16)),
  t2x5_n2000 = rbind(c(300, 250, 200, 150, 100), c(330, 240, 190, 170, 70))
)
tab_rows <- list(); fis_rows <- list()
for (id in names(tables)) {
  x <- tables[[id]]
  tab_rows[[id]] <- data.frame(id = id, nrow = nrow(x), ncol = ncol(x),
                               counts = paste(as.vector(x), collapse = " "))
  ft <- fisher.test(x, workspace = 2e8)
  est <- lo <- hi <- NA
  if (all(dim(x) == 2)) {
    tt <- fisher_tight(x)
    est <- unname(tt$estimate); lo <- tt$conf.int[1]; hi <- tt$conf.int[2]
  }
  fis_rows[[id]] <- data.frame(id = id, n = sum(x), p = ft$p.value, estimate = est,
                               conf_low = lo, conf_high = hi)
}
write_out(do.call(rbind, tab_rows), "fisher_tables.csv")
write_out(do.call(rbind, fis_rows), "fisher.csv")

# ------------------------------------------------------------------ 2 x 2 at registry scale
# fisher.test's own 2 x 2 code on constructed tables with margins up to 10^6 (balanced and
# extreme, zero cells, zero margins, ties between the two tails).  Two versions of the root
# finding: R's default (uniroot tol = eps^0.25: what fisher.test prints) and
# uniroot(tol = 1e-300), i.e. to machine precision (zeroin's own 2 eps |x| term): 1e-12
# is not enough when the root is found as t = 1/OR with t ~ 1e-9.
fisher_precise <- fisher.test
environment(fisher_precise) <- list2env(
  list(uniroot = function(f, interval, ...) stats::uniroot(f, interval, ..., tol = 1e-300)),
  parent = environment(fisher.test))
big <- list(   # rows = groups, columns = outcome yes / no; OR of x[1, 1]
  s_zero_a = rbind(c(0, 5), c(5, 5)),
  s_zero_d = rbind(c(5, 5), c(0, 5)),
  s_zero_bc = rbind(c(10, 0), c(0, 10)),
  s_one = rbind(c(1, 0), c(0, 1)),
  s_margin0 = rbind(c(0, 0), c(5, 5)),          # zero row margin
  s_col0 = rbind(c(0, 7), c(0, 3)),             # zero column margin (no events)
  s_10_1 = rbind(c(10, 1), c(1, 10)),
  e5_null = rbind(c(25000, 25100), c(25000, 24900)),
  e5_signif = rbind(c(25300, 24700), c(24700, 25300)),
  e5_tie = rbind(c(25010, 24990), c(24990, 25010)),   # balanced margins: the mirror ties
  e5_rare = rbind(c(12, 49988), c(3, 49997)),
  e5_rare0 = rbind(c(0, 50000), c(7, 49993)),
  e5_or_inf = rbind(c(50000, 0), c(1, 49999)),
  e5_unbal = rbind(c(950, 4050), c(17000, 78000)),
  e6_null = rbind(c(250100, 249900), c(249950, 250050)),
  e6_signif = rbind(c(250000, 249000), c(250000, 251000)),
  e6_tie = rbind(c(250003, 249997), c(249997, 250003)),
  e6_rare = rbind(c(3, 99997), c(40, 899960)),
  e6_rare0 = rbind(c(20, 79980), c(0, 20000)),
  e6_unbal = rbind(c(900, 899100), c(50, 99950)),
  e6_common = rbind(c(899000, 1000), c(99850, 150)),
  e6_huge_or = rbind(c(499990, 10), c(12, 499988))
)
levels_ci <- c(s_10_1 = 0.99, e5_signif = 0.9, e6_rare = 0.99)
big_rows <- list()
for (id in names(big)) {
  x <- big[[id]]
  cl <- if (id %in% names(levels_ci)) levels_ci[[id]] else 0.95
  fd <- fisher.test(x, conf.level = cl)
  fp <- fisher_precise(x, conf.level = cl)
  big_rows[[id]] <- data.frame(
    id = id, x11 = x[1, 1], x12 = x[1, 2], x21 = x[2, 1], x22 = x[2, 2], conf_level = cl,
    p = fd$p.value, estimate = unname(fd$estimate), conf_low = fd$conf.int[1],
    conf_high = fd$conf.int[2], p_precise = fp$p.value, estimate_precise = unname(fp$estimate),
    conf_low_precise = fp$conf.int[1], conf_high_precise = fp$conf.int[2])
}
write_out(do.call(rbind, big_rows), "fisher_2x2.csv")
# dhyper(log = TRUE) at large margins, at both ends, around the mode and in the tails
dh_rows <- list()
for (mk in list(c(50000, 50000, 50000), c(30000, 70000, 1000), c(500000, 500000, 500000),
                c(1000, 999000, 400000), c(3, 999997, 10), c(950000, 50000, 999990))) {
  m <- mk[1]; n <- mk[2]; k <- mk[3]; lo <- max(0, k - n); hi <- min(k, m)
  mode <- floor((k + 1) * (m + 1) / (m + n + 2))
  xs <- sort(unique(pmin(hi, pmax(lo, round(c(lo, lo + 1, hi - 1, hi, mode + -50:50,
                                                seq(lo, hi, length.out = 41)))))))
  dh_rows[[length(dh_rows) + 1]] <- data.frame(m = m, n = n, k = k, x = xs,
                                               logd = dhyper(xs, m, n, k, log = TRUE))
}
write_out(do.call(rbind, dh_rows), "dhyper.csv")

# ------------------------------------------------------------------ Mantel-Haenszel
# Breslow-Day statistic at the Mantel-Haenszel odds ratio, with Tarone's correction
# (Breslow & Day 1980, eq. 4.30; Tarone 1985).  Not in base R.  Strata with a zero margin
# (a single possible table) are left out; df = strata used - 1.
breslow_day <- function(x, psi) {
  a <- x[1, 1, ]; n1 <- x[1, 1, ] + x[1, 2, ]; n0 <- x[2, 1, ] + x[2, 2, ]
  t <- x[1, 1, ] + x[2, 1, ]; N <- n1 + n0
  use <- n1 > 0 & n0 > 0 & t > 0 & t < N
  a <- a[use]; n1 <- n1[use]; n0 <- n0[use]; t <- t[use]
  A <- numeric(length(a))
  for (k in seq_along(a)) {
    lo <- max(0, t[k] - n0[k]); hi <- min(n1[k], t[k])
    # expected x11 with these margins and odds ratio psi (root of the quadratic in range)
    f <- function(A) A * (n0[k] - t[k] + A) - psi * (n1[k] - A) * (t[k] - A)
    A[k] <- if (hi > lo) uniroot(f, c(lo, hi), tol = 1e-14)$root else lo
  }
  v <- 1 / (1 / A + 1 / (n1 - A) + 1 / (t - A) + 1 / (n0 - t + A))
  bd <- sum((a - A)^2 / v)
  tarone <- bd - (sum(a) - sum(A))^2 / sum(v)
  df <- sum(use) - 1
  c(bd = bd, bd_df = df, bd_p = pchisq(bd, df, lower.tail = FALSE),
    tarone = tarone, tarone_p = pchisq(tarone, df, lower.tail = FALSE))
}

# mantelhaen.test(exact = TRUE) finds the conditional MLE and CI with uniroot()'s default
# tol (~1e-4); mh_tight is the same R code with uniroot(tol = 1e-12), the precise reference
# (the p-value does not depend on it).
mh_tight <- mantelhaen.test
environment(mh_tight) <- list2env(
  list(uniroot = function(f, interval, ...) stats::uniroot(f, interval, ..., tol = 1e-12)),
  parent = environment(mantelhaen.test))

mh_row <- function(name, x) {
  m1 <- mantelhaen.test(x, correct = TRUE)
  m0 <- mantelhaen.test(x, correct = FALSE)
  me <- mantelhaen.test(x, exact = TRUE)
  mt <- mh_tight(x, exact = TRUE)
  bd <- breslow_day(x, unname(m1$estimate))
  data.frame(dataset = name, strata = dim(x)[3], n = sum(x),
             statistic_corrected = unname(m1$statistic), p_corrected = m1$p.value,
             statistic_uncorrected = unname(m0$statistic), p_uncorrected = m0$p.value,
             estimate = unname(m1$estimate), lower = m1$conf.int[1], upper = m1$conf.int[2],
             p_exact = me$p.value, exact_estimate = unname(mt$estimate),
             exact_lower = mt$conf.int[1], exact_upper = mt$conf.int[2],
             exact_estimate_default_tol = unname(me$estimate),
             bd_statistic = bd[["bd"]], bd_df = bd[["bd_df"]], bd_p = bd[["bd_p"]],
             tarone_statistic = bd[["tarone"]], tarone_p = bd[["tarone_p"]])
}

# 1. UCBAdmissions: Admit (rows) x Gender (columns) x Dept (strata), as in ?mantelhaen.test
ucb <- as.data.frame(UCBAdmissions)
write_out(data.frame(Admit = as.character(ucb$Admit), Gender = as.character(ucb$Gender),
                     Dept = as.character(ucb$Dept), Freq = ucb$Freq), "mh_ucb.csv")
mh <- list(mh_row("UCBAdmissions", UCBAdmissions))

# 2. infert: case (columns 0, 1) by any spontaneous abortion (rows "no", "yes"),
#    stratified by education (3 strata)
inf <- data.frame(case = infert$case,
                  spont = ifelse(infert$spontaneous > 0, "yes", "no"),
                  education = as.character(infert$education))
write_out(inf, "mh_infert.csv")
x_inf <- table(factor(inf$spont, levels = c("no", "yes")),
               factor(inf$case, levels = c(0, 1)), inf$education)
mh[[2]] <- mh_row("infert", x_inf)

# 3. constructed: 4 centres, one with no events (zero column margin), and missing values
cons <- data.frame(
  centre = rep(c("A", "B", "C", "D"), times = c(40, 30, 12, 25)),
  exposed = c(rep(1:0, c(18, 22)), rep(1:0, c(15, 15)), rep(1:0, c(5, 7)), rep(1:0, c(10, 15))),
  event = c(rep(c(1, 0), c(9, 9)), rep(c(1, 0), c(5, 17)),
            rep(c(1, 0), c(8, 7)), rep(c(1, 0), c(4, 11)),
            rep(0, 12),
            rep(c(1, 0), c(6, 4)), rep(c(1, 0), c(3, 12))))
cons$event[c(3, 50)] <- NA
cons$exposed[60] <- NA
cons$centre[70] <- NA
write_out(cons, "mh_constructed.csv")
cc <- na.omit(cons)
x_cons <- table(factor(cc$exposed, levels = c(0, 1)), factor(cc$event, levels = c(0, 1)),
                cc$centre)
mh[[3]] <- mh_row("constructed", x_cons)
write_out(do.call(rbind, mh), "mh.csv")

# ------------------------------------------------------------------ trend in proportions
tr <- list()
# constructed: 4 ordered dose groups
x <- c(15, 10, 8, 4); n <- c(30, 28, 30, 25)
write_out(data.frame(group = c("d1", "d2", "d3", "d4"), events = x, n = n), "trend_constructed.csv")
for (sc in list(seq_along(x), c(0, 1, 2.5, 4))) {
  r <- prop.trend.test(x, n, score = sc)
  tr[[length(tr) + 1]] <- data.frame(dataset = "constructed", scores = paste(sc, collapse = " "),
                                     statistic = unname(r$statistic), p = r$p.value)
}
# esoph: cases among cases + controls per alcohol group (ordered factor alcgp)
es <- data.frame(agegp = as.character(esoph$agegp), alcgp = as.character(esoph$alcgp),
                 tobgp = as.character(esoph$tobgp), ncases = esoph$ncases,
                 ncontrols = esoph$ncontrols)
write_out(es, "trend_esoph.csv")
xe <- tapply(esoph$ncases, esoph$alcgp, sum)
ne <- xe + tapply(esoph$ncontrols, esoph$alcgp, sum)
r <- prop.trend.test(xe, ne)
tr[[length(tr) + 1]] <- data.frame(dataset = "esoph", scores = paste(seq_along(xe), collapse = " "),
                                   statistic = unname(r$statistic), p = r$p.value)
write_out(do.call(rbind, tr), "trend.csv")
cat("R", R.version$major, R.version$minor, "\n", file = file.path(out, "R_VERSION.txt"))
