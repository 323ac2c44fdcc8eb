# R references for the building blocks of her2cohort.stats.mice (tests/test_mice.py) on
# small constructed data, with R's random draws recorded so that Python can replay them.
#
# Usage: Rscript --vanilla tests/r/mice_exact.R <output dir>   (tests/fixtures/r/mice)
# Needs mice and nnet.  Doubles are written with %.17g.
#
# * exact_x.csv: the constructed data (SIMULATED): y1 numeric with 5 missing, y2 binary with
#   5 missing, y3 3 levels with 5 missing, predictors x1, x2 (x2 with ties).
# * exact_norm.csv: mice:::.norm.draw(y1, ry, cbind(1, x)) under set.seed(11): coef, beta,
#   sigma, and the draws it used (chi2 = rchisq(1, df), z = rnorm(3), replayed after
#   set.seed(11)).
# * exact_match.csv / exact_match_t.csv: mice:::matchindex(d, t, k = 3) under set.seed(12)
#   (d with ties), with the shuffle sample(n1) and the h = sample(1:3, n0, TRUE) it drew.
# * exact_pmm.csv, exact_pmm_draws.csv: mice.impute.pmm(y1, ry, x) under set.seed(13) and
#   the draws it made (chi2, z, the shuffle of the donors, h).
# * exact_logreg.csv: mice:::augment + glm.fit(quasibinomial, weights, epsilon 1e-14) for y2:
#   coefficients and cov.unscaled; exact_logreg_imp.csv: mice.impute.logreg(y2, ry, x) under
#   set.seed(14) with its draws (z = rnorm(3), u = runif(n_mis)).
# * exact_augment.csv: mice:::augment(y3, ry, x, wy) rows, codes and weights.
# * exact_polyreg.csv: nnet::multinom on the augmented data of y3 (weights, maxit 10000,
#   reltol 1e-15, abstol 0): coefficients.
# * exact_lindep.csv: mice:::remove.lindep on constructed predictors (constant, near copy of
#   y, collinear triple).

options(warn = 1)
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript mice_exact.R <output dir>")
outdir <- args[1]
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
suppressPackageStartupMessages({
  library(mice)
  library(nnet)
})
self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
if (length(self) != 1) stop("run with Rscript: out.R is found next to the --file= script")
source(file.path(dirname(gsub("~+~", " ", self, fixed = TRUE)), "out.R"))  # write_csv17
out <- function(df, name) write_csv17(df, file.path(outdir, paste0(name, ".csv")), na = "")

set.seed(2026)
n <- 40
x1 <- round(rnorm(n, 10, 3), 2)
x2 <- sample(c(0, 1, 2), n, replace = TRUE)
y1 <- round(2 + 0.5 * x1 - 0.8 * x2 + rnorm(n), 1)
y2 <- as.integer(runif(n) < plogis(-4 + 0.4 * x1 - 0.3 * x2))
y3 <- c("a", "b", "c")[1 + (runif(n) < plogis(-2 + 0.2 * x1)) + (runif(n) < plogis(-1 + 0.5 * x2))]
mis <- c(3, 8, 15, 22, 37)
ry <- !(seq_len(n) %in% mis)
out(data.frame(x1 = x1, x2 = x2, y1 = y1, y2 = y2, y3 = y3, ry = as.integer(ry)), "exact_x")
x <- cbind(x1 = x1, x2 = x2)

# .norm.draw
X <- cbind(1, x)
set.seed(11)
parm <- mice:::.norm.draw(y1, ry, X)
set.seed(11)
chi2 <- rchisq(1, max(sum(ry) - ncol(X), 1))
z <- rnorm(ncol(X))
out(data.frame(coef = as.vector(parm$coef), beta = as.vector(parm$beta),
               sigma = parm$sigma, z = z, chi2 = chi2), "exact_norm")

# matchindex (d with ties)
d <- c(1.5, 0.2, 3.1, 1.5, 2.2, 0.2, 1.5, 4.0, 2.9, 1.0)
t <- c(1.4, 1.6, 0.0, 5.0, 2.5, 1.5, 2.05, 0.2)
set.seed(12)
idx <- mice:::matchindex(d, t, 3L)
set.seed(12)
ishuf <- sample(length(d))
h <- sample(1:3, length(t), replace = TRUE)
out(data.frame(d = d, ishuf = ishuf), "exact_match")
out(data.frame(t = t, h = h, idx = idx), "exact_match_t")

# mice.impute.pmm
set.seed(13)
imp <- mice.impute.pmm(y1, ry, x)
set.seed(13)
chi2 <- rchisq(1, max(sum(ry) - 3, 1))
z <- rnorm(3)
ishuf <- sample(sum(ry))
h <- sample(1:5, sum(!ry), replace = TRUE)
out(data.frame(imp = imp, h = h), "exact_pmm")
out(data.frame(what = c("chi2", rep("z", 3), rep("ishuf", sum(ry))),
               value = c(chi2, z, ishuf)), "exact_pmm_draws")

# logreg: augment + glm.fit
aug <- mice:::augment(y2, ry, x, !ry)
xa <- cbind(1, as.matrix(aug$x))
fit <- glm.fit(xa[aug$ry, ], aug$y[aug$ry], weights = aug$w[aug$ry],
               family = quasibinomial(link = logit),
               control = glm.control(epsilon = 1e-14, maxit = 100))
cu <- summary.glm(fit)$cov.unscaled
out(data.frame(coef = unname(coef(fit)), cu), "exact_logreg")
set.seed(14)
limp <- mice.impute.logreg(y2, ry, x)
set.seed(14)
z <- rnorm(3)
u <- runif(sum(!ry))
out(data.frame(imp = as.integer(limp), z = c(z, NA, NA), u = u), "exact_logreg_imp")

# augment for a 3-level factor
f3 <- factor(y3, levels = c("a", "b", "c"))
aug3 <- mice:::augment(f3, ry, x, !ry)
na <- nrow(aug3$x) - n
out(data.frame(x1 = aug3$x[n + seq_len(na), 1], x2 = aug3$x[n + seq_len(na), 2],
               y = as.integer(aug3$y[n + seq_len(na)]), w = aug3$w[n + seq_len(na)]),
    "exact_augment")

# polyreg's multinomial fit on the augmented data, run to (near) convergence
xy <- data.frame(y = aug3$y, x1 = aug3$x[, 1], x2 = aug3$x[, 2])
mf <- multinom(y ~ x1 + x2, data = xy[aug3$ry, ], weights = aug3$w[aug3$ry], trace = FALSE,
               maxit = 10000, reltol = 1e-15, abstol = 0)
cf <- coef(mf)
out(data.frame(level = rownames(cf), intercept = cf[, 1], x1 = cf[, 2], x2 = cf[, 3]),
    "exact_polyreg")

# remove.lindep: constant, near copy of y (cor > 0.99), collinear triple
set.seed(15)
m <- 60
yy <- rnorm(m)
xl <- cbind(const = rep(3, m), copy = yy + rnorm(m, sd = 0.01), a = rnorm(m), b = rnorm(m),
            neg = -yy + rnorm(m, sd = 0.01))
xl <- cbind(xl, c = xl[, "a"] + 2 * xl[, "b"] + rnorm(m, sd = 1e-4), d = rnorm(m))
ryl <- rep(TRUE, m)
ryl[c(5, 9)] <- FALSE
# remove.lindep writes to mice's log (updateLog), which exists only inside mice(): muted
rl <- mice:::remove.lindep
environment(rl) <- list2env(list(updateLog = function(...) invisible(NULL)),
                            parent = asNamespace("mice"))
keep <- rl(xl, yy, ryl)
out(data.frame(yy = yy, ry = as.integer(ryl), xl), "exact_lindep_x")
out(data.frame(column = colnames(xl), keep = as.integer(keep)), "exact_lindep")
