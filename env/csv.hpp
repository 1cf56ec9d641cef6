// A small, strict CSV reader/writer (RFC 4180 subset): comma separator, fields optionally
// quoted with "..." (commas, newlines and doubled "" inside quotes), CRLF or LF line ends.
// Used for the calibration tables, `hetsched predict` input/output and traces; anyone may reuse it.
//
// Why our own: no CSV library is among the allowed dependencies, and the ARM-CO-UP files carry
// quoted tuples such as "((3, 4), (1, 0))" that naive splitting on ',' breaks.
#pragma once

#include <string>
#include <vector>

#include "telemetry/status.hpp"

namespace hetsched::env {

struct CsvTable {
  std::string source;                           // file name (for error messages)
  std::vector<std::string> header;              // empty when read without a header
  std::vector<std::vector<std::string>> rows;   // data rows (ragged rows are kept as read)
  std::vector<int> line;                        // 1-based line number where each row starts

  // Column index by exact header name, or -1.
  int col(const std::string& name) const noexcept;
  // Field or "" when the row is shorter than the column index.
  const std::string& at(size_t row, int col) const noexcept;
};

// Parses CSV text. has_header: the first record is the header. Errors (unterminated quote,
// stray quote inside an unquoted field) name source and line.
Result<CsvTable> parse_csv(const std::string& text, const std::string& source, bool has_header = true);
Result<CsvTable> read_csv(const std::string& path, bool has_header = true);

// Quotes a field when it contains a comma, quote or newline.
std::string csv_escape(const std::string& field);
std::string csv_join(const std::vector<std::string>& fields);

// Strict number parsing of a whole field (surrounding spaces allowed). False on garbage/empty.
bool parse_double(const std::string& s, double* out) noexcept;
bool parse_int(const std::string& s, long long* out) noexcept;

}  // namespace hetsched::env
