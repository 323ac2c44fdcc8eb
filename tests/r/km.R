# Reference values for tests/test_km.py (Kaplan-Meier CI types, medians, log-rank with
# strata, risk table, restricted mean, weighted KM, landmark analysis).
# Usage: Rscript tests/r/km.R <input dir> <output dir>
# Inputs: sim.csv (tests/test_survival_vs_r.py make_sim + weights w), gbsg2.csv
# (lifelines.datasets.load_gbsg2).  survival::lung is taken from R itself and written out.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
in_dir <- args[1]; out_dir <- args[2]
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
if (length(self) != 1) stop("run with Rscript: out.R is found next to the --file= script")
source(file.path(dirname(gsub("~+~", " ", self, fixed = TRUE)), "out.R"))  # write_csv17
out <- function(df, name) write_csv17(df, file.path(out_dir, paste0(name, ".csv")), na = "NA")
obs_of <- function(sd) if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
exp_of <- function(sd) if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
grp_of <- function(s, n) if (is.null(s)) rep("all", n) else sub("^[^=]*=", "", as.character(s))

sim <- read.csv(file.path(in_dir, "sim.csv"), stringsAsFactors = FALSE)
gbsg <- read.csv(file.path(in_dir, "gbsg2.csv"), stringsAsFactors = FALSE)
gbsg$event <- gbsg$cens
lung2 <- data.frame(time = lung$time, event = lung$status - 1, sex = lung$sex,
                    inst = lung$inst, ph.ecog = lung$ph.ecog)
out(lung2, "lung")
# missing values for na.omit (rows are 1-based here, 0-based in the test)
simna <- sim
simna$time[c(3, 17, 40)] <- NA
simna$arm[c(8, 55)] <- NA
simna$centre[90] <- NA

data_sets <- list(sim = sim, lung = lung2, gbsg2 = gbsg)
groups <- c(sim = "arm", lung = "sex", gbsg2 = "horTh")
landmarks <- list(sim = c(36, 60), lung = c(180, 365, 1100), gbsg2 = c(1095, 1826))
risk_times <- list(sim = c(0, 12, 24, 36, 48, 60, 72, 96, 120),
                   lung = c(0, 100, 180, 365, 730, 1100),
                   gbsg2 = c(0, 365, 730, 1095, 1460, 1826, 2190, 2555, 3000))
taus <- list(sim = c(36, 60, 200), lung = c(365, 730), gbsg2 = c(1826, 2555))
lm_time <- c(sim = 12, lung = 90, gbsg2 = 365)
strata_of <- c(sim = "centre", lung = "inst", gbsg2 = "tgrade")

km <- list(); med <- list(); kat <- list(); lr <- list(); oe <- list(); rk <- list()
rm <- list(); lmk <- list(); lmm <- list(); lml <- list()
for (nm in names(data_sets)) {
  d <- data_sets[[nm]]
  fml <- as.formula(paste("Surv(time, event) ~", groups[[nm]]))
  for (ct in c("log", "log-log", "plain")) {
    f <- survfit(fml, data = d, conf.type = ct)
    s <- summary(f, censored = TRUE)
    km[[paste(nm, ct)]] <- data.frame(
      dataset = nm, conf_type = ct, group = grp_of(s$strata, length(s$time)), time = s$time,
      n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor, surv = s$surv,
      std_err = s$std.err, lower = s$lower, upper = s$upper)
    tab <- summary(f)$table
    med[[paste(nm, ct)]] <- data.frame(
      dataset = nm, conf_type = ct, group = grp_of(rownames(tab), nrow(tab)),
      n = tab[, "records"], events = tab[, "events"], median = tab[, "median"],
      lower = tab[, "0.95LCL"], upper = tab[, "0.95UCL"])
    sa <- summary(f, times = landmarks[[nm]], extend = FALSE)
    kat[[paste(nm, ct)]] <- data.frame(
      dataset = nm, conf_type = ct, group = grp_of(sa$strata, length(sa$time)),
      time = sa$time, n_risk = sa$n.risk, surv = sa$surv, std_err = sa$std.err,
      lower = sa$lower, upper = sa$upper)
  }
  # log-rank, unstratified and stratified
  for (st in c("none", strata_of[[nm]])) {
    fm <- if (st == "none") fml else
      as.formula(paste("Surv(time, event) ~", groups[[nm]], "+ strata(", st, ")"))
    sd <- survdiff(fm, data = d)
    dfree <- sum(exp_of(sd) > 0) - 1
    lr[[paste(nm, st)]] <- data.frame(dataset = nm, strata = st, chisq = sd$chisq, df = dfree,
                                      p = pchisq(sd$chisq, dfree, lower.tail = FALSE),
                                      n_used = sum(sd$n))
    oe[[paste(nm, st)]] <- data.frame(dataset = nm, strata = st,
                                      group = grp_of(names(sd$n), length(sd$n)),
                                      n = as.vector(sd$n), observed = obs_of(sd),
                                      expected = exp_of(sd), var_diag = diag(sd$var))
  }
  f <- survfit(fml, data = d)
  sr <- summary(f, times = risk_times[[nm]], extend = TRUE)
  rk[[nm]] <- data.frame(dataset = nm, group = grp_of(sr$strata, length(sr$time)),
                         time = sr$time, n_risk = sr$n.risk, n_event = sr$n.event,
                         n_censor = sr$n.censor)
  for (tau in taus[[nm]]) {
    tb <- summary(f, rmean = tau)$table
    rm[[paste(nm, tau)]] <- data.frame(dataset = nm, group = grp_of(rownames(tb), nrow(tb)),
                                       tau = tau, rmean = tb[, "rmean"],
                                       se = tb[, "se(rmean)"])
  }
  # landmark: event-free and under follow-up after L, time reset
  L <- lm_time[[nm]]
  d2 <- subset(d, time > L)
  d2$time <- d2$time - L
  f2 <- survfit(fml, data = d2, conf.type = "log-log")
  s2 <- summary(f2, censored = TRUE)
  lmk[[nm]] <- data.frame(dataset = nm, landmark = L, group = grp_of(s2$strata, length(s2$time)),
                          time = s2$time, n_risk = s2$n.risk, n_event = s2$n.event,
                          surv = s2$surv, std_err = s2$std.err, lower = s2$lower,
                          upper = s2$upper)
  tb2 <- summary(f2)$table
  lmm[[nm]] <- data.frame(dataset = nm, group = grp_of(rownames(tb2), nrow(tb2)),
                          n = tb2[, "records"], events = tb2[, "events"],
                          median = tb2[, "median"], lower = tb2[, "0.95LCL"],
                          upper = tb2[, "0.95UCL"])
  sd2 <- survdiff(fml, data = d2)
  lml[[nm]] <- data.frame(dataset = nm, chisq = sd2$chisq, p = pchisq(sd2$chisq, 1,
                          lower.tail = FALSE), n = sum(sd2$n))
}
out(do.call(rbind, km), "km")
out(do.call(rbind, med), "median")
out(do.call(rbind, kat), "km_at")
out(do.call(rbind, lr), "logrank")
out(do.call(rbind, oe), "logrank_oe")
out(do.call(rbind, rk), "risk")
out(do.call(rbind, rm), "rmean")
out(do.call(rbind, lmk), "landmark_km")
out(do.call(rbind, lmm), "landmark_median")
out(do.call(rbind, lml), "landmark_logrank")

# na.omit: survdiff drops incomplete rows
sd <- survdiff(Surv(time, event) ~ arm + strata(centre), data = simna)
out(data.frame(chisq = sd$chisq, p = pchisq(sd$chisq, 1, lower.tail = FALSE),
               n_used = sum(sd$n), group = names(sd$n), n = as.vector(sd$n),
               observed = obs_of(sd), expected = exp_of(sd)), "logrank_na")

# weighted Kaplan-Meier: non-integer weights (R default: robust IJ variance) and
# integer weights (Greenwood on weighted counts)
wk <- list()
gbsg$wi <- rep(1:3, length.out = nrow(gbsg))
specs <- list(sim_w = list(sim, "arm", "w"), gbsg2_wi = list(gbsg, "horTh", "wi"))
for (nm in names(specs)) {
  d <- specs[[nm]][[1]]
  d$ww <- d[[specs[[nm]][[3]]]]
  for (ct in c("log", "log-log")) {
    f <- survfit(as.formula(paste("Surv(time, event) ~", specs[[nm]][[2]])), data = d,
                 weights = ww, conf.type = ct)
    s <- summary(f, censored = TRUE)
    wk[[paste(nm, ct)]] <- data.frame(dataset = nm, conf_type = ct,
                                      group = grp_of(s$strata, length(s$time)), time = s$time,
                                      n_risk = s$n.risk, n_event = s$n.event, surv = s$surv,
                                      std_err = s$std.err, lower = s$lower, upper = s$upper)
  }
}
out(do.call(rbind, wk), "weighted_km")

# edge cases (tests/test_survival_vs_r.py make_edge): censoring before the first event
# (S = 1 rows), an event at time 0, a curve reaching 0, a curve exactly 0.5 on a plateau
edge <- read.csv(file.path(in_dir, "edge.csv"), stringsAsFactors = FALSE)
ek <- list(); em <- list()
for (ct in c("log", "log-log", "plain")) {
  f <- survfit(Surv(time, event) ~ g, data = edge, conf.type = ct)
  s <- summary(f, censored = TRUE)
  ek[[ct]] <- data.frame(conf_type = ct, group = grp_of(s$strata, length(s$time)),
                         time = s$time, surv = s$surv, std_err = s$std.err, lower = s$lower,
                         upper = s$upper)
  tab <- summary(f)$table
  em[[ct]] <- data.frame(conf_type = ct, group = grp_of(rownames(tab), nrow(tab)),
                         median = tab[, "median"], lower = tab[, "0.95LCL"],
                         upper = tab[, "0.95UCL"])
}
out(do.call(rbind, ek), "edge_km")
out(do.call(rbind, em), "edge_median")
