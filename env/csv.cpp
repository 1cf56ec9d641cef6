#include "env/csv.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hetsched::env {

int CsvTable::col(const std::string& name) const noexcept {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

const std::string& CsvTable::at(size_t row, int c) const noexcept {
  static const std::string kEmpty;
  if (row >= rows.size() || c < 0 || static_cast<size_t>(c) >= rows[row].size()) return kEmpty;
  return rows[row][static_cast<size_t>(c)];
}

Result<CsvTable> parse_csv(const std::string& text, const std::string& source, bool has_header) {
  CsvTable t;
  t.source = source;
  std::vector<std::string> rec;
  std::string field;
  int line_no = 1, rec_line = 1;
  bool in_quotes = false, was_quoted = false, any = false;
  size_t i = 0;
  // Skip a UTF-8 byte-order mark (spreadsheet exports).
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;
  auto end_record = [&]() {
    rec.push_back(field);
    field.clear();
    was_quoted = false;
    // A record consisting of one empty field is a blank line: skip it.
    if (!(rec.size() == 1 && rec[0].empty())) {
      t.rows.push_back(std::move(rec));
      t.line.push_back(rec_line);
    }
    rec.clear();
    any = false;
  };
  for (; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_quotes) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (ch == '\n') ++line_no;
        field += ch;
      }
      continue;
    }
    if (!any) rec_line = line_no;
    any = true;
    if (ch == '"') {
      if (!field.empty() || was_quoted)
        return Error(StatusCode::kCorrupt, source + ":" + std::to_string(line_no) +
                                               ": stray '\"' inside an unquoted field (field " +
                                               std::to_string(rec.size() + 1) + ")");
      in_quotes = true;
      was_quoted = true;
    } else if (ch == ',') {
      rec.push_back(field);
      field.clear();
      was_quoted = false;
    } else if (ch == '\n' || ch == '\r') {
      if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      ++line_no;
    } else {
      if (was_quoted)
        return Error(StatusCode::kCorrupt, source + ":" + std::to_string(line_no) +
                                               ": text after a closing quote (field " + std::to_string(rec.size() + 1) +
                                               ")");
      field += ch;
    }
  }
  if (in_quotes)
    return Error(StatusCode::kCorrupt, source + ":" + std::to_string(rec_line) + ": unterminated quoted field");
  if (any || !rec.empty() || !field.empty()) end_record();
  if (has_header) {
    if (t.rows.empty()) return Error(StatusCode::kCorrupt, source + ": empty file (a header line is required)");
    t.header = std::move(t.rows.front());
    t.rows.erase(t.rows.begin());
    t.line.erase(t.line.begin());
  }
  return t;
}

Result<CsvTable> read_csv(const std::string& path, bool has_header) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(StatusCode::kNotFound, path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error(StatusCode::kIoError, path + ": read failed");
  return parse_csv(ss.str(), path, has_header);
}

std::string csv_escape(const std::string& f) {
  if (f.find_first_of(",\"\n\r") == std::string::npos) return f;
  std::string out = "\"";
  for (char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_join(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += csv_escape(fields[i]);
  }
  return out;
}

namespace {
std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t");
  return s.substr(a, b - a + 1);
}
}  // namespace

bool parse_double(const std::string& s, double* out) noexcept {
  const std::string t = trim(s);
  if (t.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || errno == ERANGE || v != v) return false;
  *out = v;
  return true;
}

bool parse_int(const std::string& s, long long* out) noexcept {
  const std::string t = trim(s);
  if (t.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(t.c_str(), &end, 10);
  if (end != t.c_str() + t.size() || errno == ERANGE) return false;
  *out = v;
  return true;
}

}  // namespace hetsched::env
