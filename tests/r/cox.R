# Reference values for her2cohort.stats.cox (tests/test_cox.py).
# Usage: Rscript tests/r/cox.R <input dir> <output dir>
#   input dir holds sim.csv (tests/test_cox.py::make_cox_sim) and gbsg2.csv
#   (lifelines.datasets.load_gbsg2); R's survival::lung is written to <output dir>.
# Every double is written with sprintf("%.17g").
suppressPackageStartupMessages(library(survival))
options(warn = 1)
args <- commandArgs(trailingOnly = TRUE)
indir <- args[1]; outdir <- args[2]
for (d in c(outdir, file.path(outdir, "resid"), file.path(outdir, "zph_y")))
  dir.create(d, showWarnings = FALSE, recursive = TRUE)

self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
if (length(self) != 1) stop("run with Rscript: out.R is found next to the --file= script")
source(file.path(dirname(gsub("~+~", " ", self, fixed = TRUE)), "out.R"))  # write_csv17
wcsv <- function(df, name) write_csv17(df, file.path(outdir, name), na = "NA")

lung2 <- data.frame(time = lung$time, status = lung$status - 1, age = lung$age, sex = lung$sex,
                    ph.ecog = lung$ph.ecog, ph.karno = lung$ph.karno, wt.loss = lung$wt.loss,
                    inst = lung$inst)
wcsv(lung2, "lung.csv")
lungf <- lung2
lungf$ecog <- factor(lungf$ph.ecog, levels = c(0, 1, 2, 3))
sim <- read.csv(file.path(indir, "sim.csv"), stringsAsFactors = FALSE)
sim$arm <- factor(sim$arm, levels = c("A", "B"))
sim$stage <- factor(sim$stage, levels = c("I", "II", "III"))
gb <- read.csv(file.path(indir, "gbsg2.csv"), stringsAsFactors = FALSE)
gb$horTh <- factor(gb$horTh, levels = c("no", "yes"))
gb$menostat <- factor(gb$menostat, levels = c("Pre", "Post"))
gb$tgrade <- factor(gb$tgrade, levels = c("I", "II", "III"))

models <- list(
  lung = coxph(Surv(time, status) ~ age + sex + ph.ecog + ph.karno + wt.loss, data = lung2),
  lung_breslow = coxph(Surv(time, status) ~ age + sex + ph.ecog + ph.karno, data = lung2,
                       ties = "breslow"),
  lung_factor = coxph(Surv(time, status) ~ age + sex + ecog, data = lungf),
  lung_robust = coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung2, robust = TRUE),
  lung_cluster = coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung2, cluster = inst),
  gbsg2 = coxph(Surv(time, cens) ~ horTh + age + menostat + tsize + tgrade + pnodes + progrec +
                  estrec, data = gb),
  gbsg2_breslow = coxph(Surv(time, cens) ~ horTh + tsize + tgrade + pnodes, data = gb,
                        ties = "breslow"),
  sim = coxph(Surv(time, event) ~ arm + age + stage + er, data = sim),
  sim_strat = coxph(Surv(time, event) ~ arm + age + stage + strata(centre), data = sim),
  sim_weighted = coxph(Surv(time, event) ~ arm + age + stage, data = sim, weights = iptw),
  sim_weighted_strat = coxph(Surv(time, event) ~ arm + age + er + strata(centre), data = sim,
                             weights = iptw, ties = "breslow"),
  sim_breslow = coxph(Surv(time, event) ~ arm + age + stage + er, data = sim, ties = "breslow"),
  sim_cluster = coxph(Surv(time, event) ~ arm + age + stage, data = sim, cluster = clu),
  sim_infinite = coxph(Surv(time, event) ~ arm + rare + age, data = sim),
  sim_collinear = coxph(Surv(time, event) ~ arm + age + age_copy + er, data = sim)
)

# residuals are stored for these models only (keeps the fixture small)
resid_models <- c("lung_factor", "lung_cluster", "gbsg2_breslow", "sim_strat", "sim_weighted",
                  "sim_weighted_strat")
coefs <- list(); mods <- list(); zph <- list()
for (nm in names(models)) {
  m <- models[[nm]]
  sm <- summary(m)
  cf <- sm$coefficients
  ci <- sm$conf.int
  rob <- "robust se" %in% colnames(cf)
  full <- names(m$coefficients)
  ok <- !is.na(m$coefficients)
  get <- function(mat, col) {
    v <- rep(NA_real_, length(full)); v[match(rownames(mat), full)] <- mat[, col]; v
  }
  se <- get(cf, "se(coef)"); rse <- if (rob) get(cf, "robust se") else rep(NA_real_, length(full))
  z <- get(cf, "z"); p <- get(cf, "Pr(>|z|)")
  lo <- get(ci, "lower .95"); up <- get(ci, "upper .95")
  coefs[[nm]] <- data.frame(model = nm, term = full, coef = unname(m$coefficients), se = se,
                            robust_se = rse, z = z, p = p, lower = lo, upper = up)
  cc <- m$concordance
  mods[[nm]] <- data.frame(
    model = nm, n = m$n, nevent = m$nevent, n_na = length(m$na.action),
    loglik0 = m$loglik[1], loglik = m$loglik[2],
    lr = sm$logtest[["test"]], lr_df = sm$logtest[["df"]], lr_p = sm$logtest[["pvalue"]],
    wald = m$wald.test, wald_df = sm$waldtest[["df"]], wald_p = sm$waldtest[["pvalue"]],
    score = sm$sctest[["test"]], score_df = sm$sctest[["df"]], score_p = sm$sctest[["pvalue"]],
    rscore = if (is.null(sm$robscore)) NA else sm$robscore[["test"]],
    rscore_p = if (is.null(sm$robscore)) NA else sm$robscore[["pvalue"]],
    concordant = cc[["concordant"]], discordant = cc[["discordant"]], tied_x = cc[["tied.x"]],
    tied_y = cc[["tied.y"]], tied_xy = cc[["tied.xy"]], concordance = cc[["concordance"]],
    concordance_se = cc[["std"]])
  if (nm %in% c("sim_infinite")) next
  for (tr in c("km", "rank", "identity")) {
    for (tm in c(TRUE, FALSE)) {
      zz <- cox.zph(m, transform = tr, terms = tm)
      tb <- zz$table
      zph[[paste(nm, tr, tm)]] <- data.frame(model = nm, transform = tr, terms = tm,
                                             term = rownames(tb), chisq = tb[, "chisq"],
                                             df = tb[, "df"], p = tb[, "p"])
      if (tm && (tr == "km" || nm %in% c("sim_strat", "lung_factor"))) {
        yy <- zz$y
        colnames(yy) <- paste0("y:", colnames(yy))
        wcsv(data.frame(x = zz$x, time = zz$time, yy, check.names = FALSE),
             file.path("zph_y", paste0(nm, "__", tr, ".csv")))
      }
    }
  }
  if (!(nm %in% resid_models)) next
  for (ty in c("martingale", "score", "schoenfeld", "scaledsch", "dfbeta")) {
    r <- as.matrix(residuals(m, type = ty))
    if (ty == "martingale") colnames(r) <- "martingale"
    if (is.null(colnames(r))) colnames(r) <- if (ncol(r) == length(full)) full else full[ok]
    wcsv(data.frame(unname(r), check.names = FALSE) |> setNames(colnames(r)),
         file.path("resid", paste0(nm, "__", ty, ".csv")))
  }
}
wcsv(do.call(rbind, coefs), "coef.csv")
wcsv(do.call(rbind, mods), "model.csv")
wcsv(do.call(rbind, zph), "zph.csv")
# warnings that coxph gave for the undefined cases
w1 <- tryCatch(coxph(Surv(time, event) ~ arm + rare + age, data = sim), warning = function(w) conditionMessage(w))
wcsv(data.frame(model = "sim_infinite", warning = w1), "warnings.csv")
cat("R", R.version$major, R.version$minor, "survival", as.character(packageVersion("survival")), "\n",
    file = file.path(outdir, "VERSION"))

# adjusted survival curves: survfit(fit) at fit$means and survfit(fit, newdata)
curves <- list()
sfout <- function(nm, sf, curve_names) {
  st <- if (is.null(sf$strata)) rep("all", length(sf$time)) else
    rep(sub("^[^=]*=", "", names(sf$strata)), sf$strata)
  surv <- as.matrix(sf$surv); se <- as.matrix(sf$std.err)
  lo <- as.matrix(sf$lower); up <- as.matrix(sf$upper); ch <- as.matrix(sf$cumhaz)
  do.call(rbind, lapply(seq_len(ncol(surv)), function(j)
    data.frame(model = nm, curve = curve_names[j], stratum = st, time = sf$time,
               n_risk = sf$n.risk, n_event = sf$n.event, n_censor = sf$n.censor,
               surv = surv[, j], std_chaz = se[, j], cumhaz = ch[, j],
               lower = lo[, j], upper = up[, j])))
}
nd_lung <- data.frame(age = c(50, 70), sex = c(1, 2), ph.ecog = c(0, 2), ph.karno = c(90, 70))
nd_sim <- data.frame(arm = factor(c("A", "B"), levels = c("A", "B")), age = c(45, 65),
                     stage = factor(c("I", "III"), levels = c("I", "II", "III")))
nd_gb <- data.frame(horTh = factor(c("no", "yes"), levels = c("no", "yes")), tsize = c(20, 40),
                    tgrade = factor(c("II", "III"), levels = c("I", "II", "III")), pnodes = c(1, 8))
curves[["lung_breslow_means"]] <- sfout("lung_breslow", survfit(models$lung_breslow), "means")
curves[["lung_breslow_new"]] <- sfout("lung_breslow", survfit(models$lung_breslow, newdata = nd_lung), c("1", "2"))
curves[["gbsg2_breslow_new"]] <- sfout("gbsg2_breslow", survfit(models$gbsg2_breslow, newdata = nd_gb), c("1", "2"))
curves[["sim_means"]] <- sfout("sim", survfit(models$sim), "means")
curves[["sim_strat_new"]] <- sfout("sim_strat", survfit(models$sim_strat, newdata = nd_sim), c("1", "2"))
wcsv(do.call(rbind, curves), "survfit.csv")
