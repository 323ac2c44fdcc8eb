# Expected headline numbers of the SIMULATED demo, computed by R from the simulator's per-patient
# truth (data/demo/truth/truth_SIMULATED.csv), never from the pipeline's own output.
# Run from the project folder:  Rscript tests/r/headline.R  -> tests/expected/headline_truth.csv
suppressPackageStartupMessages(library(survival))
truth <- read.csv("data/demo/truth/truth_SIMULATED.csv", stringsAsFactors = FALSE)
d <- truth[truth$disposition == "included", ]
d$group <- factor(ifelse(d$her2_class_truth == "3+", "IHC 3+", "IHC 2+/ISH+"),
                  levels = c("IHC 3+", "IHC 2+/ISH+"))
d$pcr <- as.integer(d$pcr_truth == "True")
out <- list()
add <- function(key, value, source) {
  out[[length(out) + 1]] <<- data.frame(key = key, value = sprintf("%.17g", value),
                                        source = source, stringsAsFactors = FALSE)
}
src_count <- "count in the simulator's truth file"
for (g in levels(d$group)) {
  s <- d[d$group == g, ]
  k <- tolower(gsub("[^A-Za-z0-9+]+", "_", g))
  add(paste0("patients/", k, "/n"), nrow(s), src_count)
  add(paste0("hr_positive/", k, "/events"), sum(s$hr_truth == "positive"), src_count)
  add(paste0("pcr_rate/", k, "/events"), sum(s$pcr), src_count)
  lost <- s$her2_loss_truth[s$her2_loss_truth %in% c("True", "False")]
  add(paste0("her2_loss_after_therapy/", k, "/events"), sum(lost == "True"), src_count)
  add(paste0("her2_loss_after_therapy/", k, "/n"), length(lost), src_count)
  add(paste0("dfs_events/", k, "/events"), sum(s$dfs_event_truth), src_count)
}
vs <- "ihc_2+_ish+_vs_ihc_3+"
add(paste0("pcr_difference/", vs, "/p"),
    chisq.test(table(d$group, d$pcr), correct = FALSE)$p.value,
    "R chisq.test(correct = FALSE) on the truth file")
add(paste0("hr_positive_test/", vs, "/p"),
    chisq.test(table(d$group, d$hr_truth), correct = FALSE)$p.value,
    "R chisq.test(correct = FALSE) on the truth file")
l <- d[d$her2_loss_truth %in% c("True", "False"), ]
add(paste0("her2_loss_after_therapy_test/", vs, "/p"),
    fisher.test(table(l$group, l$her2_loss_truth))$p.value,
    "R fisher.test on the truth file")
lr <- survdiff(Surv(dfs_months_truth, dfs_event_truth) ~ group, data = d)
add(paste0("dfs_log_rank/", vs, "/p"), pchisq(lr$chisq, 1, lower.tail = FALSE),
    "R survival::survdiff on the truth file (DFS months to 6 decimals)")
fit <- coxph(Surv(dfs_months_truth, dfs_event_truth) ~ group, data = d)
add(paste0("dfs_hazard_ratio/", vs, "/estimate"), exp(coef(fit))[[1]],
    "R survival::coxph (Efron) on the truth file (DFS months to 6 decimals)")
res <- do.call(rbind, out)
write.csv(res, "tests/expected/headline_truth.csv", row.names = FALSE)
