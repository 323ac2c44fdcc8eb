# R references for her2cohort.stats.mice on rare and perfectly predicted levels
# (tests/test_mice_rare.py), on constructed SIMULATED data.
#
# Usage: Rscript --vanilla tests/r/mice_rare.R <output dir>   (tests/fixtures/r/mice)
# Needs mice and nnet.  Doubles are written with %.17g.
#
# * rare_data.csv: 20000 rows, factors a (3 levels), b (2), c (3; level c2 in 1 row),
#   d (3; level dz exactly when a is a2), each missing at random (~15%).
#   rare_mice.csv: mice(m = 2, maxit = 3) on it runs: its methods and, per variable, the
#   predictors remove.lindep dropped in any iteration (loggedEvents), for reading.
# * rare_lindep_x.csv / rare_lindep.csv: remove.lindep on predictors with a rare dummy
#   (variance < 1e-4), an exact duplicate (a perfectly predicted level), and near
#   duplicates in several orders (more than one dependency: R's loop, which never
#   recomputes the eigen decomposition, decides which columns go).
# * rare_logreg.csv: augment + glm.fit (quasibinomial, epsilon 1e-14) for a binary y whose
#   first level is exactly the rows with dummy z = 1 (separation; cor(z, y) = -1, so
#   remove.lindep keeps z) with a rare dummy r (6 of 400): coefficients, cov.unscaled.
# * rare_polyreg.csv: nnet::multinom (maxit 10000, reltol 1e-15) on the augmented data of
#   a 3-level y whose level 1 is exactly z = 1, level 2 seen in 3 rows: coefficients.

options(warn = 1)
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript mice_rare.R <output dir>")
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
rl <- mice:::remove.lindep
environment(rl) <- list2env(list(updateLog = function(...) invisible(NULL)),
                            parent = asNamespace("mice"))

# --- the rare-level data and a mice() run on it
set.seed(7)
n <- 20000
z <- rnorm(n)
a <- c("a0", "a1", "a2")[1 + (z + rnorm(n) > -0.5) + (z + rnorm(n) > 0.8)]
b <- ifelse(runif(n) < plogis(z), "yes", "no")
cc <- c("c0", "c1")[1 + (runif(n) < 0.5)]
cc[sample(n, 1)] <- "c2"
d <- ifelse(a == "a2", "dz", ifelse(runif(n) < 0.5, "dx", "dy"))
dat <- data.frame(a = a, b = b, c = cc, d = d, stringsAsFactors = FALSE)
for (v in names(dat)) {
  miss <- runif(n) < 0.15
  if (v == "c") miss[dat$c == "c2"] <- FALSE
  dat[miss, v] <- NA
}
allna <- rowSums(is.na(dat)) == ncol(dat)
dat$b[allna] <- "no"
out(dat, "rare_data")
fd <- as.data.frame(lapply(dat, factor))
imp <- mice(fd, m = 2, maxit = 3, seed = 7, printFlag = FALSE)
le <- imp$loggedEvents
dropped <- sapply(names(fd), function(v) {
  o <- unique(unlist(strsplit(le$out[le$dep == v], ", ")))
  paste(sort(o), collapse = " ")
})
out(data.frame(variable = names(fd), method = unname(imp$method),
               dropped = unname(dropped), completed = sum(is.na(complete(imp, 2)))),
    "rare_mice")

# --- remove.lindep
set.seed(8)
m <- 20000
x0 <- rnorm(m)
p1 <- rnorm(m)
p2 <- rnorm(m)
rare <- as.numeric(seq_len(m) == 17)          # variance 5e-5 < 1e-4
lev <- as.numeric(runif(m) < 0.3)
dupl <- lev                                   # a level that is another's exactly
near1 <- p1 + rnorm(m, sd = 1e-3)
near2 <- p2 + rnorm(m, sd = 2e-3)
yy <- x0 + p1 + rnorm(m)
ry <- runif(m) > 0.1
X <- cbind(x0 = x0, p1 = p1, p2 = p2, rare = rare, lev = lev, dupl = dupl,
           near1 = near1, near2 = near2)
out(data.frame(yy = yy, ry = as.integer(ry), X), "rare_lindep_x")
orders <- list(c("x0", "rare", "lev", "dupl"),
               c("p1", "near1", "p2", "near2", "x0"),
               c("p1", "p2", "near1", "near2"),
               c("near2", "p1", "x0", "p2", "near1"),
               c("near1", "near2", "p2", "p1", "rare"),
               c("lev", "p1", "near2", "dupl", "p2", "near1", "x0"))
res <- do.call(rbind, lapply(seq_along(orders), function(i) {
  o <- orders[[i]]
  data.frame(case = i, column = o, keep = as.integer(rl(X[, o, drop = FALSE], yy, ry)))
}))
out(res, "rare_lindep")

# --- logreg with separation and a rare predictor, augmented
set.seed(9)
n2 <- 400
zz <- as.numeric(runif(n2) < 0.3)
r2 <- as.numeric(seq_len(n2) %in% c(5, 50, 120, 200, 310, 390))
x2 <- round(rnorm(n2), 2)
y2 <- 1 - zz                                  # level 1 exactly when z = 1
ry2 <- !(seq_len(n2) %in% c(3, 60, 150, 222, 333, 399))
xl <- cbind(z = zz, r = r2, x = x2)
stopifnot(all(rl(xl, y2, ry2)))
aug <- mice:::augment(y2, ry2, xl, !ry2)
xa <- cbind(1, as.matrix(aug$x))
fit <- glm.fit(xa[aug$ry, ], aug$y[aug$ry], weights = aug$w[aug$ry],
               family = quasibinomial(link = logit),
               control = glm.control(epsilon = 1e-14, maxit = 100))
cu <- summary.glm(fit)$cov.unscaled
out(data.frame(y = y2, ry = as.integer(ry2), xl), "rare_logreg_x")
out(data.frame(coef = unname(coef(fit)), cu, iter = fit$iter), "rare_logreg")

# --- polyreg: a level exactly z = 1, a level in 3 rows
y3 <- ifelse(zz == 1, 1, 3)
y3[which(zz == 0)[c(10, 90, 200)]] <- 2
f3 <- factor(y3, levels = 1:3)
stopifnot(all(rl(xl, f3, ry2)))
aug3 <- mice:::augment(f3, ry2, xl, !ry2)
xy <- data.frame(y = aug3$y, aug3$x)
mf <- multinom(y ~ z + r + x, data = xy[aug3$ry, ], weights = aug3$w[aug3$ry],
               trace = FALSE, maxit = 10000, reltol = 1e-15, abstol = 0)
cf <- coef(mf)
out(data.frame(y3 = y3), "rare_polyreg_y")
out(data.frame(level = rownames(cf), cf), "rare_polyreg")
