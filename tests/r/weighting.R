# Reference values for tests/test_weighting.py: propensity score (glm binomial), ATE and
# stabilised weights, truncation at the 1st/99th percentiles, and weighted standardised
# mean differences computed by hand with the formulas of tableone::svyCreateTableOne /
# survey::svymean + svyvar (weighted mean; variance sum w (x - m)^2 / sum w * n / (n - 1);
# binary levels p (1 - p)).
# Usage: Rscript tests/r/weighting.R <input dir> <output dir>   (inputs: gbsg2.csv, sim.csv)
args <- commandArgs(trailingOnly = TRUE)
in_dir <- args[1]; out_dir <- args[2]
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
if (length(self) != 1) stop("run with Rscript: out.R is found next to the --file= script")
source(file.path(dirname(gsub("~+~", " ", self, fixed = TRUE)), "out.R"))  # write_csv17
out <- function(df, name) write_csv17(df, file.path(out_dir, paste0(name, ".csv")), na = "NA")

gbsg <- read.csv(file.path(in_dir, "gbsg2.csv"), stringsAsFactors = FALSE)
sim <- read.csv(file.path(in_dir, "sim.csv"), stringsAsFactors = FALSE)
# missing values for na.omit (1-based rows here, 0-based in the test)
gbsg$age[c(5, 10)] <- NA
gbsg$tgrade[20] <- NA

specs <- list(
  gbsg2 = list(data = gbsg, treat = "horTh", treated = "yes",
               cont = c("age", "tsize", "pnodes", "progrec", "estrec"),
               cat = list(menostat = c("Pre", "Post"), tgrade = c("I", "II", "III"))),
  sim = list(data = sim, treat = "arm", treated = "B", cont = c("age", "er"),
             cat = list(stage = c("I", "II", "III")))
)

wvar <- function(x, w, binary) {
  m <- weighted.mean(x, w)
  if (binary) return(c(m, m * (1 - m)))
  n <- sum(w != 0)
  c(m, sum(w * (x - m)^2) / sum(w) * n / (n - 1))
}

ps_out <- list(); coef_out <- list(); bal <- list(); tr <- list()
for (nm in names(specs)) {
  sp <- specs[[nm]]
  vars <- c(sp$cont, names(sp$cat))
  d <- sp$data[complete.cases(sp$data[, c(sp$treat, vars)]), ]
  d$z <- as.integer(d[[sp$treat]] == sp$treated)
  for (v in names(sp$cat)) d[[v]] <- factor(d[[v]], levels = sp$cat[[v]])
  fit <- glm(as.formula(paste("z ~", paste(vars, collapse = " + "))), data = d,
             family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
  ps <- fitted(fit)
  p1 <- mean(d$z)
  w <- ifelse(d$z == 1, 1 / ps, 1 / (1 - ps))
  sw <- ifelse(d$z == 1, p1 / ps, (1 - p1) / (1 - ps))
  q <- quantile(sw, c(0.01, 0.99))  # type 7
  swt <- pmin(pmax(sw, q[[1]]), q[[2]])
  ps_out[[nm]] <- data.frame(dataset = nm, row = as.integer(rownames(d)) - 1L, treated = d$z,
                             ps = ps, w = w, sw = sw, swt = swt)
  cf <- summary(fit)$coefficients
  coef_out[[nm]] <- data.frame(dataset = nm, term = rownames(cf), coef = cf[, 1], se = cf[, 2])
  tr[[nm]] <- data.frame(dataset = nm, lower = q[[1]], upper = q[[2]],
                         n_truncated = sum(sw < q[[1]] | sw > q[[2]]), n_used = nrow(d),
                         n_missing = nrow(sp$data) - nrow(d))
  cols <- list()
  for (v in sp$cont) cols[[length(cols) + 1]] <- list(v, NA, as.numeric(d[[v]]), FALSE)
  for (v in names(sp$cat)) for (lv in sp$cat[[v]])
    cols[[length(cols) + 1]] <- list(v, lv, as.numeric(d[[v]] == lv), TRUE)
  for (wn in c("none", "w", "sw", "swt")) {
    ww <- switch(wn, none = rep(1, nrow(d)), w = w, sw = sw, swt = swt)
    for (cc in cols) {
      x <- cc[[3]]; t1 <- d$z == 1
      a <- wvar(x[t1], ww[t1], cc[[4]]); b <- wvar(x[!t1], ww[!t1], cc[[4]])
      if (wn == "none" && !cc[[4]]) stopifnot(isTRUE(all.equal(a[2], var(x[t1]))))
      bal[[length(bal) + 1]] <- data.frame(
        dataset = nm, weights = wn, variable = cc[[1]], level = cc[[2]], m1 = a[1], m0 = b[1],
        v1 = a[2], v0 = b[2], smd = abs(a[1] - b[1]) / sqrt((a[2] + b[2]) / 2))
    }
  }
}
out(do.call(rbind, ps_out), "ps")
out(do.call(rbind, coef_out), "coef")
out(do.call(rbind, bal), "balance")
out(do.call(rbind, tr), "truncation")
