#include "events/oplog.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>

#include "events/time_format.h"

namespace reservoir::oplog {

namespace {

std::atomic<Format> g_format{Format::kText};

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    default:
      return "info";
  }
}

void append_hex_escape(unsigned char c, std::string& out) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", c);
  out += buf;
}

// A JSON string (quoted); also text values that need quotes.
void append_quoted(std::string_view v, std::string& out) {
  out += '"';
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      append_hex_escape(c, out);
    } else {
      out += ch;
    }
  }
  out += '"';
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f || c == '"' || c == '=' || c == '\\') return true;
  }
  return false;
}

void append_text_value(std::string_view v, std::string& out) {
  if (needs_quotes(v)) {
    append_quoted(v, out);
  } else {
    out += v;
  }
}

void append_pair(Format format, std::string_view key, std::string_view value, std::string& out) {
  if (format == Format::kJson) {
    out += ',';
    append_quoted(key, out);
    out += ':';
    append_quoted(value, out);
  } else {
    out += ' ';
    out += key;
    out += '=';
    append_text_value(value, out);
  }
}

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void write_line(std::string line) {
  line += '\n';
  for (size_t done = 0; done < line.size();) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return;  // stderr is gone: nothing better to do with the line
    }
  }
}

}  // namespace

void set_format(Format format) {
  g_format.store(format, std::memory_order_relaxed);
}

Format format() {
  return g_format.load(std::memory_order_relaxed);
}

std::string format_line(Format format, int64_t unix_ms, Level level, std::string_view event,
                        const std::vector<Field>& fields) {
  std::string out;
  out.reserve(128);
  const std::string ts = format_iso8601_ms(unix_ms);
  if (format == Format::kJson) {
    out += "{\"ts\":";
    append_quoted(ts, out);
  } else {
    out += "ts=" + ts;
  }
  append_pair(format, "level", level_name(level), out);
  append_pair(format, "event", event, out);
  for (const auto& [key, value] : fields) append_pair(format, key, value, out);
  if (format == Format::kJson) out += '}';
  return out;
}

void log_event(Level level, std::string_view event, const std::vector<Field>& fields) {
  // One write per line, and stdio's stderr buffer (unbuffered) is bypassed
  // so a line is never split among other threads' fprintf output.
  write_line(format_line(format(), unix_now_ms(), level, event, fields));
}

void log_event(Level level, std::string_view event, std::initializer_list<Field> fields) {
  log_event(level, event, std::vector<Field>(fields));
}

}  // namespace reservoir::oplog
