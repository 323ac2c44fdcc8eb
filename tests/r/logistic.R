# R reference values for her2cohort.stats.logistic (tests/test_logistic.py).
#
# Usage: Rscript --vanilla tests/r/logistic.R <input dir> <output dir>
#   input dir : tests/fixtures/r/logistic (cohort.csv, sparse.csv, sex2.csv,
#               endometrial.csv)
#   output dir: where the CSV outputs go (the same folder when regenerating the fixtures)
# Needs base R + MASS (confint.glm for R < 4.4).  Doubles are written with %.17g.
# Regenerate: Rscript --vanilla tests/r/logistic.R tests/fixtures/r/logistic \
#             tests/fixtures/r/logistic   (inputs: python tests/logistic_inputs.py)
#
# * glm with control epsilon = 1e-14, refitted from its estimate (see record()); R's
#   default 1e-8 leaves ~1e-7 relative error in the
#   estimates and p-values, too much for a 5e-7 comparison; MASS's profile uses the same
#   control for its refits).
# * confint(): MASS's profile method (grid + spline interpolation).
# * exact profile limits: uniroot on the signed root of the deviance increase, refitting the
#   other coefficients with the profiled one as an offset (glm.fit).
# * drop1(test = "LRT") and anova(reduced, full, test = "LRT").
# * restricted cubic spline: Harrell's basis written out below (rms/Hmisc not installed),
#   knots at quantile(x, c(.05, .35, .65, .95)) (type 7, every non-missing x), as
#   Hmisc::rcspline.eval(x, nk = 4, norm = 2).
# * Firth: the penalised log-likelihood l(b) + 0.5 log det(X'WX) maximised with optim()
#   (BFGS), profile penalised-likelihood limits by uniroot, penalised LR tests with the
#   coefficient fixed at 0 (logistf's definition).  logistf itself is not installed.

options(warn = 1)
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript logistic.R <input dir> <output dir>")
indir <- args[1]
outdir <- args[2]
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
suppressPackageStartupMessages(library(MASS))

self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
if (length(self) != 1) stop("run with Rscript: out.R is found next to the --file= script")
source(file.path(dirname(gsub("~+~", " ", self, fixed = TRUE)), "out.R"))  # write_csv17
out <- function(df, name) write_csv17(df, file.path(outdir, paste0(name, ".csv")), na = "NA")
ctl <- glm.control(epsilon = 1e-14, maxit = 200)

exact_profile <- function(fit, level = 0.95) {
  X <- model.matrix(fit)
  y <- fit$y
  dev0 <- deviance(fit)
  z <- qnorm((1 + level) / 2)
  b <- coef(fit)
  se <- sqrt(diag(vcov(fit)))
  res <- matrix(NA_real_, length(b), 2)
  LP <- drop(X %*% b)
  for (j in seq_along(b)) {
    f <- function(bj) {
      # etastart = the fitted linear predictor (as MASS's profile): from glm.fit's default
      # start the refit fails to converge for large offsets (esoph, agegp 75+)
      fm <- glm.fit(X[, -j, drop = FALSE], y, offset = X[, j] * bj, family = binomial(),
                    control = ctl, etastart = LP)
      if (!fm$converged) stop("profile refit did not converge")
      sign(bj - b[j]) * sqrt(max(fm$deviance - dev0, 0))
    }
    for (s in c(-1, 1)) {
      k <- 1
      while (s * f(b[j] + s * k * z * se[j]) < z && k < 4096) k <- 2 * k
      if (k >= 4096) next
      ends <- sort(c(b[j], b[j] + s * k * z * se[j]))
      res[j, (s + 3) / 2] <- uniroot(function(t) f(t) - s * z, ends, tol = 1e-13)$root
    }
  }
  res
}

models <- list()
coef_rows <- list()
drop_rows <- list()
record <- function(name, fit, profile = TRUE) {
  # One more IRLS pass from the converged estimate: summary() takes the covariance from the
  # weights at the start of the last iteration, which the deviance criterion leaves ~1e-7
  # away from the estimate (SE off by ~1e-8); from the estimate itself it is exact.
  fit <- glm(formula(fit), family = binomial, data = fit$data, start = coef(fit),
             control = ctl)
  s <- coef(summary(fit))
  ci <- if (profile) suppressMessages(confint(fit)) else matrix(NA, nrow(s), 2)
  ex <- if (profile) exact_profile(fit) else matrix(NA, nrow(s), 2)
  coef_rows[[name]] <<- data.frame(
    model = name, term = rownames(s), estimate = s[, 1], std_error = s[, 2],
    statistic = s[, 3], p = s[, 4], confint_lower = ci[, 1], confint_upper = ci[, 2],
    exact_lower = ex[, 1], exact_upper = ex[, 2])
  d1 <- drop1(fit, test = "LRT")
  d1 <- d1[-1, , drop = FALSE]
  drop_rows[[name]] <<- data.frame(model = name, term = rownames(d1), df = d1$Df,
                                   deviance = d1$Deviance, lrt = d1$LRT, p = d1[["Pr(>Chi)"]])
  models[[name]] <<- data.frame(model = name, n = nobs(fit), deviance = deviance(fit),
                                df_residual = df.residual(fit))
}

# ---- R data sets, written out for the Python side
out(infert, "infert")
eso <- esoph
for (v in c("agegp", "alcgp", "tobgp")) eso[[v]] <- as.character(eso[[v]])
esoph_bin <- eso[rep(seq_len(nrow(eso)), eso$ncases + eso$ncontrols),
                 c("agegp", "alcgp", "tobgp")]
esoph_bin$case <- unlist(mapply(function(a, b) c(rep(1, a), rep(0, b)),
                                eso$ncases, eso$ncontrols, SIMPLIFY = FALSE))
rownames(esoph_bin) <- NULL
out(esoph_bin, "esoph_bin")

inf <- infert
inf$education <- factor(as.character(inf$education), levels = c("0-5yrs", "6-11yrs", "12+ yrs"))
record("infert", glm(case ~ spontaneous + induced + education + age, family = binomial,
                     data = inf, control = ctl))
eb <- esoph_bin
eb$agegp <- factor(eb$agegp, levels = levels(esoph$agegp))
eb$alcgp <- factor(eb$alcgp, levels = levels(esoph$alcgp))
eb$tobgp <- factor(eb$tobgp, levels = levels(esoph$tobgp))
record("esoph", glm(case ~ agegp + alcgp + tobgp, family = binomial, data = eb, control = ctl))

# ---- constructed study-like cohort
co <- read.csv(file.path(indir, "cohort.csv"), stringsAsFactors = FALSE)
co$her2 <- factor(co$her2, levels = c("IHC 3+", "IHC 2+ISH+"))
co$hr <- factor(co$hr, levels = c("negative", "positive"))
co$regimen <- factor(co$regimen, levels = c("single", "dual"))
record("cohort_main", glm(pcr ~ her2 + hr + regimen + age, family = binomial, data = co,
                          control = ctl))
for (v in c("her2", "hr", "regimen", "age")) {
  record(paste0("cohort_uni_", v),
         glm(as.formula(paste("pcr ~", v)), family = binomial, data = co, control = ctl))
}
cc <- na.omit(co[, c("pcr", "her2", "regimen", "hr")])
full <- glm(pcr ~ her2 + regimen + hr + her2:regimen, family = binomial, data = cc,
            control = ctl)
record("cohort_int", full)
red <- glm(pcr ~ her2 + regimen + hr, family = binomial, data = cc, control = ctl)
an <- anova(red, full, test = "LRT")
anova_rows <- list(data.frame(model = "cohort_int", n = nobs(full),
                              deviance_reduced = an$`Resid. Dev`[1],
                              deviance_full = an$`Resid. Dev`[2], df = an$Df[2],
                              statistic = an$Deviance[2], p = an$`Pr(>Chi)`[2]))

# sparse data: 0 events in one her2 x regimen cell -> separation in the interaction model
sp <- read.csv(file.path(indir, "sparse.csv"), stringsAsFactors = FALSE)
sp$her2 <- factor(sp$her2, levels = c("IHC 3+", "IHC 2+ISH+"))
sp$regimen <- factor(sp$regimen, levels = c("single", "dual"))
sfull <- suppressWarnings(glm(pcr ~ her2 * regimen, family = binomial, data = sp,
                              control = ctl))
sred <- glm(pcr ~ her2 + regimen, family = binomial, data = sp, control = ctl)
an <- anova(sred, sfull, test = "LRT")
anova_rows[[2]] <- data.frame(model = "sparse_int", n = nobs(sfull),
                              deviance_reduced = an$`Resid. Dev`[1],
                              deviance_full = an$`Resid. Dev`[2], df = an$Df[2],
                              statistic = an$Deviance[2], p = an$`Pr(>Chi)`[2])
record("sparse_main", sred)

# ---- restricted cubic spline for age (Harrell), 4 knots
rcs_eval <- function(x, knots) {
  k <- length(knots)
  kd <- (knots[k] - knots[1])^(2 / 3)
  p3 <- function(u) pmax(u / kd, 0)^3
  sapply(seq_len(k - 2), function(j) {
    p3(x - knots[j]) + ((knots[k - 1] - knots[j]) * p3(x - knots[k]) -
                          (knots[k] - knots[j]) * p3(x - knots[k - 1])) /
      (knots[k] - knots[k - 1])
  })
}
knots <- unname(quantile(co$age, c(.05, .35, .65, .95), na.rm = TRUE, type = 7))
out(data.frame(knot = knots), "rcs_knots")
cr <- na.omit(co[, c("pcr", "her2", "hr", "age")])
B <- rcs_eval(cr$age, knots)
cr$age1 <- B[, 1]
cr$age2 <- B[, 2]
out(data.frame(age = cr$age, age1 = cr$age1, age2 = cr$age2), "rcs_basis")
rfull <- glm(pcr ~ her2 + hr + age + age1 + age2, family = binomial, data = cr, control = ctl)
rfull <- glm(pcr ~ her2 + hr + age + age1 + age2, family = binomial, data = cr,
             control = ctl, start = coef(rfull))  # SEs at the estimate (see record())
rlin <- glm(pcr ~ her2 + hr + age, family = binomial, data = cr, control = ctl)
record("cohort_rcs", rfull)
an <- anova(rlin, rfull, test = "LRT")
anova_rows[[3]] <- data.frame(model = "cohort_rcs_nonlinear", n = nobs(rfull),
                              deviance_reduced = an$`Resid. Dev`[1],
                              deviance_full = an$`Resid. Dev`[2], df = an$Df[2],
                              statistic = an$Deviance[2], p = an$`Pr(>Chi)`[2])
grid <- data.frame(age = seq(30, 70, by = 2.5))
Bg <- rcs_eval(grid$age, knots)
grid$age1 <- Bg[, 1]
grid$age2 <- Bg[, 2]
grid$her2 <- factor("IHC 3+", levels = levels(co$her2))
grid$hr <- factor("negative", levels = levels(co$hr))
pr <- predict(rfull, newdata = grid, type = "link", se.fit = TRUE)
z <- qnorm(0.975)
out(data.frame(age = grid$age, linear_predictor = pr$fit, se_link = pr$se.fit,
               prob = plogis(pr$fit), lower = plogis(pr$fit - z * pr$se.fit),
               upper = plogis(pr$fit + z * pr$se.fit)), "rcs_predict")

out(do.call(rbind, coef_rows), "glm_coef")
out(do.call(rbind, drop_rows), "glm_drop1")
out(do.call(rbind, models), "glm_models")
out(do.call(rbind, anova_rows), "glm_anova")

# ---- Firth: maximise the penalised log-likelihood directly (independent of the Python code)
pen_loglik <- function(beta, X, y) {
  eta <- drop(X %*% beta)
  ll <- sum(y * eta - ifelse(eta > 0, eta + log1p(exp(-eta)), log1p(exp(eta))))
  p <- plogis(eta)
  info <- crossprod(X, X * (p * (1 - p)))
  ll + 0.5 * as.numeric(determinant(info, logarithm = TRUE)$modulus)
}
pen_grad <- function(beta, X, y) {  # Firth's modified score (gradient of pen_loglik)
  p <- plogis(drop(X %*% beta))
  w <- p * (1 - p)
  info <- crossprod(X, X * w)
  h <- rowSums((X %*% solve(info)) * X) * w
  drop(crossprod(X, y - p + h * (0.5 - p)))
}
pen_max <- function(X, y, fixed = integer(0), values = numeric(0), start = NULL) {
  k <- ncol(X)
  free <- setdiff(seq_len(k), fixed)
  full <- function(bf) { b <- numeric(k); b[free] <- bf; b[fixed] <- values; b }
  st <- if (is.null(start)) rep(0, length(free)) else start[free]
  fn <- function(bf) -pen_loglik(full(bf), X, y)
  gr <- function(bf) -pen_grad(full(bf), X, y)[free]
  if (length(free) == 0) return(list(beta = full(numeric(0)), pl = -fn(numeric(0))))
  o <- optim(st, fn, gr, method = "BFGS", control = list(reltol = 1e-16, maxit = 10000))
  o <- optim(o$par, fn, gr, method = "BFGS", control = list(reltol = 1e-16, maxit = 10000))
  par <- o$par
  # polish: Newton steps with the finite-difference Hessian of the objective (optimHess)
  for (it in 1:4) {
    cand <- par - solve(optimHess(par, fn, gr), gr(par))
    if (max(abs(gr(cand))) < max(abs(gr(par)))) par <- cand
  }
  list(beta = full(par), pl = -fn(par), grad = max(abs(gr(par))))
}
firth_rows <- list()
firth_check <- function(name, X, y, level = 0.95) {
  f0 <- pen_max(X, y)
  b <- f0$beta
  q <- qchisq(level, 1)
  k <- ncol(X)
  lo <- up <- pvals <- numeric(k)
  for (j in seq_len(k)) {
    pvals[j] <- pchisq(2 * (f0$pl - pen_max(X, y, j, 0, b)$pl), 1, lower.tail = FALSE)
    g <- function(t) 2 * (f0$pl - pen_max(X, y, j, t, b)$pl) - q
    for (s in c(-1, 1)) {
      step <- 1
      while (g(b[j] + s * step) < 0) step <- 2 * step
      r <- uniroot(g, sort(c(b[j], b[j] + s * step)), tol = 1e-12)$root
      if (s < 0) lo[j] <- r else up[j] <- r
    }
  }
  firth_rows[[name]] <<- data.frame(model = name, term = colnames(X), estimate = b,
                                    lower = lo, upper = up, p = pvals,
                                    pen_loglik = f0$pl, max_abs_grad = f0$grad)
}
sex2 <- read.csv(file.path(indir, "sex2.csv"))
firth_check("sex2", model.matrix(~ age + oc + vic + vicl + vis + dia, sex2), sex2$case)
endo <- read.csv(file.path(indir, "endometrial.csv"))
firth_check("endometrial", model.matrix(~ NV + PI + EH, endo), endo$HG)
firth_check("sparse_int", model.matrix(~ her2 * regimen, sp), sp$pcr)
out(do.call(rbind, firth_rows), "firth")
