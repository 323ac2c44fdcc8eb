# Reference values for her2cohort.stats.doseresponse (tests/test_doseresponse.py).
#
# Usage: Rscript --vanilla tests/r/doseresponse.R [output directory]
#   (default tests/fixtures/r/doseresponse).  Base R only (stats::nls, SSfpl); drc is NOT used.
# Doubles are written with sprintf("%.17g") so they round-trip exactly.
#
# Model: drc's LL.4, f(x) = c + (d - c) / (1 + exp(b * (log(x) - log(e)))).
# R's SSfpl on x = log(conc) is f = A + (B - A) / (1 + exp((xmid - x) / scal)).  The identity
#   A + (B - A) / (1 + exp(-u)) = B + (A - B) / (1 + exp(u)),   u = (x - xmid) / scal
# gives two equivalent mappings:
#   (i)  c = A, d = B, b = -1 / scal, e = exp(xmid)      (the task brief's "A = lower c")
#   (ii) c = B, d = A, b =  1 / scal, e = exp(xmid)
# SSfpl's self-start always returns scal > 0 (A = asymptote at low dose), so for a falling
# curve A is the upper asymptote: mapping (ii) then gives b > 0 and d > c, drc's convention.
# Below, mapping (ii) is used and the result is put in drc's convention d >= c (if c > d:
# swap c, d and negate b, the same curve).  Standard errors transform exactly at the optimum
# (nls' vcov = sigma^2 (J'J)^-1 and J changes by the reparametrisation's Jacobian):
#   se(b) = se(scal) / scal^2,  se(e) = e * se(xmid),  se(c), se(d) = se(B), se(A).
# Each data set is also fitted with nls on the LL.4 formula itself (parameters b, c, d, e), a
# second check of the mapping and of se(e); the ryegrass data (drc package, with 6 controls
# at concentration 0) only this way, because log(0) = -Inf cannot enter SSfpl's self-start.
#
# Data (written out so Python reads exactly what R used):
#   standard.csv   SIMULATED: 9 doses (3-fold), 2 replicates, b = 1.2, c = 0.1, d = 1, e = 0.2
#   shallow.csv    SIMULATED: 10 doses (4-fold), 1 replicate, b = 0.5, c = 0.2, d = 1, e = 1
#   triplicate.csv SIMULATED: 8 doses (3-fold), 3 replicates, b = 2, c = 0.05, d = 0.98, e = 0.5
#   twogroups.csv  SIMULATED: two lines, 8 doses x 3 replicates, e = 0.3 vs 1.2 (group "shift")
#                  and two lines with the same e = 0.5 (group "same"); column pair says which
#   synergy_matrix.csv  SIMULATED 6 x 6 dose matrix (doses incl. 0) of two drugs, 2 replicates,
#                  viability (Bliss surface plus a synergy bump plus noise)
#   ryegrass.csv   drc::ryegrass (Inderjit, Streibig & Olofsdotter 2002), typed from the
#                  Rdatasets copy csv/drc/ryegrass.csv: rootl (cm) vs conc (mM)
# Results:
#   params.csv     id, method (SSfpl | LL4 formula), param (b, c, d, e), estimate, se, rss,
#                  df, sigma, and the raw SSfpl coefficients for method SSfpl
#   moregroups.csv SIMULATED: three lines with close IC50s (case "three") and two lines with
#                  IC50s ten-fold apart (case "tenfold"), 10 doses x 3 replicates; column pair
#   ftest.csv      anova(reduced, full) for a shared xmid (= shared log IC50) across the groups,
#                  separate A, B, scal: F, df1, df2, p, rss_full, rss_reduced, shared e, the
#                  group refitted as the straight-line limit (reduced_limit) and whether nls
#                  on the reduced model converged (nls_reduced); see "Two more cases" below
#   fixed.csv      nls with c fixed at 0.1, and with c, d fixed at 0.1, 1 (standard data)
#   synergy_ref.csv  Bliss, HSA, Loewe and ZIP on synergy_matrix.csv as
#                  her2cohort.stats.synergy defines them, written out in base R
#   ci.csv         e +/- qt(0.975, df) se(e) (drc's ED(..., interval = "delta")) and
#                  exp(log e +/- qt se(log e)) per data set (SSfpl fits)
options(warn = 1)
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else file.path("tests", "fixtures", "r", "doseresponse")
dir.create(out, recursive = TRUE, showWarnings = FALSE)

self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
if (length(self) != 1) stop("run with Rscript: out.R is found next to the --file= script")
source(file.path(dirname(gsub("~+~", " ", self, fixed = TRUE)), "out.R"))  # write_csv17
write_out <- function(df, name) {
  write_csv17(df, file.path(out, name), na = "NA", quote_na_numbers = TRUE)
}
# tol is nls' relative-offset criterion (default 1e-5).  SSfpl has an analytic gradient and
# reaches 1e-8 on every data set here (the shallow curve stalls at 1.1e-9, so not 1e-9);
# the formula models (LL.4 formula, the indexed two-group models) use numerical derivatives
# and reach 1e-7.  Between tol 1e-7 and 1e-9 the parameters move by <= 3e-8 relative, well
# inside the 5e-7 of the tests.
ctl <- nls.control(maxiter = 1000, tol = 1e-8, minFactor = 1e-12)
ctl_num <- nls.control(maxiter = 1000, tol = 1e-7, minFactor = 1e-12)
# the two-group models have an analytic gradient (grp4 below); the shared-IC50 model of the
# "shift" pair fits badly (that is the point of the test) and its relative offset stalls at
# 1.07e-8, so these use tol = 2e-8
ctl_grp <- nls.control(maxiter = 1000, tol = 2e-8, minFactor = 1e-12)
ll4 <- function(x, b, c, d, e) c + (d - c) / (1 + exp(b * (log(x) - log(e))))

# ------------------------------------------------------------------ data (SIMULATED)
set.seed(20261203)
sim <- function(doses, reps, b, c, d, e, sd) {
  x <- rep(doses, each = reps)
  data.frame(conc = x, resp = ll4(x, b, c, d, e) + rnorm(length(x), 0, sd))
}
standard <- sim(0.001 * 3^(0:8), 2, 1.2, 0.1, 1, 0.2, 0.05)
shallow <- sim(0.0001 * 4^(0:9), 1, 0.5, 0.2, 1, 1, 0.03)
triplicate <- sim(0.01 * 3^(0:7), 3, 2, 0.05, 0.98, 0.5, 0.06)
tg <- function(e, grp, pair) cbind(sim(0.01 * 3^(0:7), 3, 1.5, 0.08, 1, e, 0.05),
                                   group = grp, pair = pair)
twogroups <- rbind(tg(0.3, "A", "shift"), tg(1.2, "B", "shift"),
                   tg(0.5, "C", "same"), tg(0.5, "D", "same"))
ryegrass <- data.frame(
  rootl = c(7.58, 8, 8.328571429, 7.25, 7.375, 7.9625, 8.355555556, 6.914285714, 7.75,
            6.871428571, 6.45, 5.922222222, 1.925, 2.885714286, 4.233333333, 1.1875,
            0.857142857, 1.057142857, 0.6875, 0.525, 0.825, 0.25, 0.22, 0.44),
  conc = rep(c(0, 0.94, 1.88, 3.75, 7.5, 15, 30), c(6, 3, 3, 3, 3, 3, 3)))
write_out(standard, "standard.csv")
write_out(shallow, "shallow.csv")
write_out(triplicate, "triplicate.csv")
write_out(twogroups, "twogroups.csv")
write_out(ryegrass, "ryegrass.csv")

# ------------------------------------------------------------------ single fits
fit_ssfpl <- function(d, control = ctl) {
  d$lx <- log(d$conc)
  # SSfpl's self-start (default control), then iterate to tol = 1e-8
  st <- getInitial(resp ~ SSfpl(lx, A, B, xmid, scal), data = d)
  nls(resp ~ SSfpl(lx, A, B, xmid, scal), data = d, start = st, control = control)
}
drc_terms <- function(fit) {
  co <- coef(fit); se <- sqrt(diag(vcov(fit)))
  b <- 1 / co[["scal"]]; c <- co[["B"]]; d <- co[["A"]]; e <- exp(co[["xmid"]])
  se_b <- se[["scal"]] / co[["scal"]]^2; se_c <- se[["B"]]; se_d <- se[["A"]]
  se_e <- e * se[["xmid"]]
  if (c > d) {
    tmp <- c; c <- d; d <- tmp; tmp <- se_c; se_c <- se_d; se_d <- tmp; b <- -b
  }
  list(est = c(b = b, c = c, d = d, e = e), se = c(b = se_b, c = se_c, d = se_d, e = se_e),
       se_log_e = se[["xmid"]])
}
rows <- list(); cis <- list()
sets <- list(standard = standard, shallow = shallow, triplicate = triplicate)
for (nm in names(sets)) {
  d <- sets[[nm]]
  f <- fit_ssfpl(d)
  t <- drc_terms(f)
  s <- summary(f)
  rows[[length(rows) + 1]] <- data.frame(
    id = nm, method = "SSfpl", param = names(t$est), estimate = unname(t$est),
    se = unname(t$se), rss = deviance(f), df = df.residual(f), sigma = s$sigma,
    ssfpl_A = coef(f)[["A"]], ssfpl_B = coef(f)[["B"]], ssfpl_xmid = coef(f)[["xmid"]],
    ssfpl_scal = coef(f)[["scal"]])
  q <- qt(0.975, df.residual(f))
  e <- t$est[["e"]]
  cis[[nm]] <- data.frame(id = nm, e = e, lo_linear = e - q * t$se[["e"]],
                          hi_linear = e + q * t$se[["e"]],
                          lo_log = exp(log(e) - q * t$se_log_e),
                          hi_log = exp(log(e) + q * t$se_log_e))
  # the LL.4 formula itself, started from the SSfpl answer in drc terms
  g <- nls(resp ~ c + (d - c) / (1 + exp(b * (log(conc) - log(e)))), data = d,
           start = as.list(t$est), control = ctl_num)
  sg <- summary(g)$coefficients
  rows[[length(rows) + 1]] <- data.frame(
    id = nm, method = "LL4 formula", param = rownames(sg), estimate = sg[, 1], se = sg[, 2],
    rss = deviance(g), df = df.residual(g), sigma = summary(g)$sigma, ssfpl_A = NA,
    ssfpl_B = NA, ssfpl_xmid = NA, ssfpl_scal = NA)
}
# ryegrass (zero doses): the LL.4 formula; start near drc's published estimates
g <- nls(rootl ~ c + (d - c) / (1 + exp(b * (log(conc) - log(e)))), data = ryegrass,
         start = list(b = 3, c = 0.5, d = 7.8, e = 3), control = ctl_num)
sg <- summary(g)$coefficients
rows[[length(rows) + 1]] <- data.frame(
  id = "ryegrass", method = "LL4 formula", param = rownames(sg), estimate = sg[, 1],
  se = sg[, 2], rss = deviance(g), df = df.residual(g), sigma = summary(g)$sigma,
  ssfpl_A = NA, ssfpl_B = NA, ssfpl_xmid = NA, ssfpl_scal = NA)
write_out(do.call(rbind, rows), "params.csv")
write_out(do.call(rbind, cis), "ci.csv")

# ------------------------------------------------------------------ shared-IC50 F test
# SSfpl per group, A[g] + (B[g] - A[g]) / (1 + exp((xmid[g] - lx) / scal[g])), with its analytic
# gradient (columns A_1..A_G, B_1..B_G, xmid (one shared or G), scal_1..scal_G, the order of
# the start list) so that nls converges as tightly as SSfpl itself
grp4 <- function(lx, g, A, B, xmid, scal) {
  G <- length(A)
  M <- outer(g, seq_len(G), "==") * 1
  xm <- if (length(xmid) == 1) rep(xmid, length(lx)) else xmid[g]
  sc <- scal[g]
  z <- exp((xm - lx) / sc)
  den <- 1 + z
  val <- A[g] + (B[g] - A[g]) / den
  h <- (B[g] - A[g]) * z / den^2
  dxm <- -h / sc
  dsc <- h * (xm - lx) / sc^2
  gx <- if (length(xmid) == 1) matrix(dxm, ncol = 1) else M * dxm
  attr(val, "gradient") <- cbind(M * (1 - 1 / den), M / den, gx, M * dsc)
  val
}
ft <- list()
for (pr in c("shift", "same")) {
  d <- twogroups[twogroups$pair == pr, ]
  d$lx <- log(d$conc)
  d$g <- as.integer(factor(d$group))
  st <- lapply(split(d, d$g), function(dd) coef(fit_ssfpl(dd, ctl_num)))
  stm <- do.call(rbind, st)
  full <- nls(resp ~ grp4(lx, g, A, B, xmid, scal), data = d,
              start = list(A = stm[, "A"], B = stm[, "B"], xmid = stm[, "xmid"],
                           scal = stm[, "scal"]), control = ctl_grp)
  red <- nls(resp ~ grp4(lx, g, A, B, xmid, scal), data = d,
             start = list(A = stm[, "A"], B = stm[, "B"], xmid = mean(stm[, "xmid"]),
                          scal = stm[, "scal"]), control = ctl_grp)
  a <- anova(red, full)
  ft[[pr]] <- data.frame(pair = pr, F = a$`F value`[2], df1 = a$Df[2], df2 = a$`Res.Df`[2],
                         p = a$`Pr(>F)`[2], rss_full = deviance(full),
                         rss_reduced = deviance(red), shared_e = exp(coef(red)[["xmid"]]),
                         reduced_limit = "", nls_reduced = "converged")
}

# Two more cases (data moregroups.csv, SIMULATED, 10 doses 3-fold from 0.005 x 3 replicates as
# the demo plates): "three" = three lines, e = 0.25, 0.4, 0.6 (finite shared-IC50 optimum;
# anova(reduced, full) as above); "tenfold" = e = 0.3 vs 3 (ratio 10, as T-DXd on the demo's
# SK-BR-3-like vs MDA-MB-453-like).  For "tenfold" the shared-IC50 model has no finite optimum:
# with the IC50 held near 0.3 the best LL.4 curve for the e = 3 line is the limit b -> 0,
# d - c -> infinity (b (d - c) finite), a straight line in log dose, and nls on the reduced
# model stops without converging (recorded in nls_reduced).  The reference RSS_reduced is then
# the infimum, reached by that limit: each candidate "group g is a straight line" is fitted
# (lm(resp ~ log(conc)) for g, the other groups by nls with one shared xmid, or SSfpl alone
# when one group is left; a candidate whose nls does not converge is skipped) and the smallest
# RSS among the candidates and the converged reduced nls is taken; F and p by the extra-sum-of-squares formula (what anova() computes).
set.seed(20261204)
mg <- function(e, b, c, grp, case) cbind(sim(0.005 * 3^(0:9), 3, b, c, 1, e, 0.03),
                                         group = grp, pair = case)
moregroups <- rbind(mg(0.25, 1.3, 0.05, "A", "three"), mg(0.4, 1.1, 0.08, "B", "three"),
                    mg(0.6, 1.4, 0.06, "C", "three"),
                    mg(0.3, 1.4, 0.05, "A", "tenfold"), mg(3, 1.2, 0.09, "B", "tenfold"))
write_out(moregroups, "moregroups.csv")
fit_groups4 <- function(d, shared) {
  d$g <- as.integer(factor(d$group))
  if (length(unique(d$g)) == 1) return(fit_ssfpl(d, ctl_num))
  st <- lapply(split(d, d$g), function(dd) coef(fit_ssfpl(dd, ctl_num)))
  stm <- do.call(rbind, st)
  nls(resp ~ grp4(lx, g, A, B, xmid, scal), data = d,
      start = list(A = stm[, "A"], B = stm[, "B"],
                   xmid = if (shared) mean(stm[, "xmid"]) else stm[, "xmid"],
                   scal = stm[, "scal"]), control = ctl_grp)
}
for (pr in c("three", "tenfold")) {
  d <- moregroups[moregroups$pair == pr, ]
  d$lx <- log(d$conc)
  full <- fit_groups4(d, shared = FALSE)
  red <- tryCatch(fit_groups4(d, shared = TRUE), error = function(e) conditionMessage(e))
  cand <- list()
  if (!is.character(red)) cand[["none"]] <- list(rss = deviance(red),
                                                 e = exp(coef(red)[["xmid"]]))
  for (g in sort(unique(d$group))) {
    rest <- d[d$group != g, ]
    m <- tryCatch(fit_groups4(rest, shared = TRUE), error = function(e) NULL)
    if (is.null(m)) next  # the others have no finite shared-IC50 optimum either: not a candidate
    cand[[g]] <- list(rss = deviance(m) + deviance(lm(resp ~ lx, data = d[d$group == g, ])),
                      e = exp(coef(m)[["xmid"]]))
  }
  best <- names(cand)[which.min(sapply(cand, `[[`, "rss"))]
  G <- length(unique(d$group)); df1 <- G - 1; df2 <- df.residual(full)
  rss_f <- deviance(full); rss_r <- cand[[best]]$rss
  Fv <- ((rss_r - rss_f) / df1) / (rss_f / df2)
  if (best == "none") {  # the same numbers as anova(reduced, full)
    a <- anova(red, full)
    stopifnot(abs(a$`F value`[2] / Fv - 1) < 1e-12)
  }
  ft[[pr]] <- data.frame(pair = pr, F = Fv, df1 = df1, df2 = df2,
                         p = pf(Fv, df1, df2, lower.tail = FALSE), rss_full = rss_f,
                         rss_reduced = rss_r, shared_e = cand[[best]]$e,
                         reduced_limit = if (best == "none") "" else best,
                         nls_reduced = if (is.character(red)) paste("failed:", red)
                                       else "converged")
}
write_out(do.call(rbind, ft), "ftest.csv")

# ------------------------------------------------------------------ fixed asymptotes
# three- and two-parameter fits (fit_ll4(lower=, upper=)): c fixed at 0.1; c and d fixed at
# 0.1 and 1 (as the ZIP combination curves are fitted), standard data, LL.4 formula
fx <- list()
st0 <- drc_terms(fit_ssfpl(standard))$est
g3 <- nls(resp ~ 0.1 + (d - 0.1) / (1 + exp(b * (log(conc) - log(e)))), data = standard,
          start = list(b = st0[["b"]], d = st0[["d"]], e = st0[["e"]]), control = ctl_num)
g2 <- nls(resp ~ 0.1 + (1 - 0.1) / (1 + exp(b * (log(conc) - log(e)))), data = standard,
          start = list(b = st0[["b"]], e = st0[["e"]]), control = ctl_num)
for (m in list(list("c_fixed", g3), list("cd_fixed", g2))) {
  sg <- summary(m[[2]])$coefficients
  fx[[m[[1]]]] <- data.frame(model = m[[1]], param = rownames(sg), estimate = sg[, 1],
                             se = sg[, 2], rss = deviance(m[[2]]), df = df.residual(m[[2]]))
}
write_out(do.call(rbind, fx), "fixed.csv")

# ------------------------------------------------------------------ synergy on a dose matrix
# SIMULATED 6 x 6 matrix (doses incl. 0), 2 replicates, viability; the reference models as
# her2cohort.stats.synergy defines them (SynergyFinder's formulas, see that module), written
# out in base R: Bliss and HSA from observed single agents; Loewe from LL.4 fits of each drug
# alone (uniroot of x_a / X_a(y) + x_b / X_b(y) - 1 where both X exist, NA otherwise); ZIP:
# LL.4 single agents, combination curves along A (B fixed) and along B (A fixed) with the
# asymptotes fixed at the other drug's fitted effect and 1, averaged.
set.seed(7)
inh_a <- function(x) 1 - ll4(x, 1.3, 0.1, 1, 0.4)
inh_b <- function(x) 1 - ll4(x, 0.9, 0.3, 1, 3)
da <- c(0, 0.05, 0.15, 0.45, 1.35, 4.05); db <- c(0, 0.3, 0.9, 2.7, 8.1, 24.3)
sm <- expand.grid(dose_a = da, dose_b = db, rep = 1:2)
ea <- inh_a(sm$dose_a); eb <- inh_b(sm$dose_b)
sm$viability <- 1 - (ea + eb - ea * eb + 0.08 * (sm$dose_a > 0) * (sm$dose_b > 0) *
                       ea * eb / (0.2 + ea * eb)) + rnorm(nrow(sm), 0, 0.02)
sm <- sm[, c("dose_a", "dose_b", "viability")]
write_out(sm, "synergy_matrix.csv")
sm$e <- 1 - sm$viability
mm <- aggregate(e ~ dose_a + dose_b, data = sm, FUN = mean)
# LL.4 in (b, log e, c, d) with its analytic gradient (columns of the free parameters only), so
# that nls converges tightly also for the two-parameter combination curves; x = 0 allowed
mdl <- function(x, b, le, c, d, free) {
  u <- log(x) - le
  s <- 1 / (1 + exp(b * u))
  q <- s * (1 - s)
  val <- c + (d - c) * s
  db <- -(d - c) * q * u
  db[x == 0] <- 0
  gr <- cbind(b = db, le = (d - c) * q * b, c = 1 - s, d = s)
  attr(val, "gradient") <- gr[, free, drop = FALSE]
  val
}
ll4_fit <- function(x, y, c_fix = NULL, d_fix = NULL) {
  # grid start over (b, log e) with the free asymptotes at the data range, then nls
  best <- NULL
  for (b0 in c(-4, -2, -1, -0.5, 0.5, 1, 2, 4)) for (le0 in seq(log(min(x[x > 0])),
                                                             log(max(x)), length.out = 9)) {
    c0 <- if (is.null(c_fix)) min(y) else c_fix; d0 <- if (is.null(d_fix)) max(y) else d_fix
    r <- sum((y - ll4(x, b0, c0, d0, exp(le0)))^2)
    if (is.null(best) || r < best$r) best <- list(r = r, b = b0, le = le0, c = c0, d = d0)
  }
  free <- c("b", "le", if (is.null(c_fix)) "c", if (is.null(d_fix)) "d")
  st <- list(b = best$b, le = best$le)
  if (is.null(c_fix)) st$c <- best$c
  if (is.null(d_fix)) st$d <- best$d
  dat <- data.frame(x = x, y = y)
  cc <- if (is.null(c_fix)) quote(c) else c_fix
  dd <- if (is.null(d_fix)) quote(d) else d_fix
  f <- bquote(y ~ mdl(x, b, le, .(cc), .(dd), .(free)))
  fit <- nls(eval(f), data = dat, start = st, control = ctl)
  co <- coef(fit)
  list(b = co[["b"]], e = exp(co[["le"]]),
       c = if (is.null(c_fix)) co[["c"]] else c_fix, d = if (is.null(d_fix)) co[["d"]] else d_fix)
}
pred <- function(p, x) ll4(x, p$b, p$c, p$d, p$e)
sa <- sm[sm$dose_b == 0, ]; sb <- sm[sm$dose_a == 0, ]
fa <- ll4_fit(sa$dose_a, sa$e); fb <- ll4_fit(sb$dose_b, sb$e)
obs <- function(a, b) mm$e[mm$dose_a == a & mm$dose_b == b]
inv <- function(p, y) {
  lo <- min(p$c, p$d); hi <- max(p$c, p$d)
  if (!(y > lo && y < hi)) return(NA_real_)
  p$e * ((p$d - y) / (y - p$c))^(1 / p$b)
}
rows <- list()
fit_along_a <- list(); fit_along_b <- list()
for (b in db[-1]) {
  xa <- da[-1]; y <- sapply(xa, obs, b = b)
  p <- ll4_fit(xa, y, c_fix = pred(fb, b), d_fix = 1)
  fit_along_a[[as.character(b)]] <- setNames(pred(p, xa), xa)
}
for (a in da[-1]) {
  xb <- db[-1]; y <- sapply(xb, obs, a = a)
  p <- ll4_fit(xb, y, c_fix = pred(fa, a), d_fix = 1)
  fit_along_b[[as.character(a)]] <- setNames(pred(p, xb), xb)
}
for (a in da[-1]) for (b in db[-1]) {
  e_a <- obs(a, 0); e_b <- obs(0, b); o <- obs(a, b)
  lo <- max(min(fa$c, fa$d), min(fb$c, fb$d)); hi <- min(max(fa$c, fa$d), max(fb$c, fb$d))
  g <- function(y) a / inv(fa, y) + b / inv(fb, y) - 1
  eps <- (hi - lo) * 1e-12
  y_l <- if (lo < hi && g(lo + eps) * g(hi - eps) < 0)
    uniroot(g, c(lo + eps, hi - eps), tol = 1e-14)$root else NA_real_
  za <- pred(fa, a); zb <- pred(fb, b)
  fitted <- (fit_along_a[[as.character(b)]][[as.character(a)]] +
               fit_along_b[[as.character(a)]][[as.character(b)]]) / 2
  rows[[length(rows) + 1]] <- data.frame(
    a = a, b = b, observed = o, bliss_expected = e_a + e_b - e_a * e_b,
    hsa_expected = max(e_a, e_b), loewe_expected = y_l, zip_observed = fitted,
    zip_expected = za + zb - za * zb)
}
write_out(do.call(rbind, rows), "synergy_ref.csv")
writeLines(R.version.string, file.path(out, "R_VERSION.txt"))
