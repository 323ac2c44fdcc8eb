# The CSV writer shared by the scripts under tests/r/ that make the stored R fixtures
# (cox.R, cox_table.R, doseresponse.R, exact.R, kgroups.R, km.R, logistic.R, mice_exact.R,
# mice_mc.R, mice_rare.R, pooling.R, weighting.R).
# Each script sources this file from its own folder, found from Rscript's --file= argument:
#   self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
#   if (length(self) != 1) stop("run with Rscript: out.R is found next to the --file= script")
#   source(file.path(dirname(gsub("~+~", " ", self, fixed = TRUE)), "out.R"))
# (Rscript passes a space in the script's path as "~+~").
#
# write_csv17(df, path, na, quote_na_numbers = FALSE): df as a data frame written to path by
# write.csv (no row names); factors as their text, every number with sprintf("%.17g")
# (round-trips a double exactly; an integer prints as its digits), a missing value as the
# string na. quote_na_numbers: a missing number is written as the text na in quotes ("NA"),
# as the stored fixtures of cox_table.R, doseresponse.R, exact.R and kgroups.R have it.
write_csv17 <- function(df, path, na, quote_na_numbers = FALSE) {
  df <- as.data.frame(df, stringsAsFactors = FALSE)
  for (j in seq_along(df)) {
    if (is.factor(df[[j]])) df[[j]] <- as.character(df[[j]])
    if (is.numeric(df[[j]])) {
      x <- as.numeric(df[[j]])
      df[[j]] <- ifelse(is.na(x), if (quote_na_numbers) na else NA_character_,
                        sprintf("%.17g", x))
    }
  }
  write.csv(df, path, row.names = FALSE, na = na)
}
