// oplog: the operator's log (SPEC §8 logs). One line on stderr per event
// worth an operator's attention: start (the effective configuration), stop,
// refused start, slow request, fault, failover. Each line is
//   text: ts=2026-12-07T06:20:00.123Z level=info event=start key=value ...
//   json: {"ts":"…","level":"info","event":"start","key":"value",...}
// A text value with a blank, quote, '=' or control character is quoted
// ("…", with \" \\ \n escapes); JSON strings are escaped as JSON.
//
// It lives in events/ so that every layer (the writer's faults, the HTTP
// layer's slow requests, serve's start and stop) writes the same lines;
// it knows nothing of them. Callers never pass a secret (token, key,
// Authorization): the start line's configuration replaces secret values
// by "(set)" before it gets here (tools/serve.cc).
//
// Thread safety: log_event() from any thread; each line goes out in one
// write(2), so lines of concurrent events never interleave. set_format()
// at start-up, before other threads log.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reservoir::oplog {

enum class Format { kText, kJson };
enum class Level { kInfo, kWarn, kError };

void set_format(Format format);
Format format();

using Field = std::pair<std::string_view, std::string_view>;

// Writes one line: `event` (start, stop, start_refused, slow_request,
// fault, failover, …) and its fields in order.
void log_event(Level level, std::string_view event, std::initializer_list<Field> fields);
void log_event(Level level, std::string_view event, const std::vector<Field>& fields);

// The line log_event() writes (without its newline), at time `unix_ms`.
std::string format_line(Format format, int64_t unix_ms, Level level, std::string_view event,
                        const std::vector<Field>& fields);

}  // namespace reservoir::oplog
