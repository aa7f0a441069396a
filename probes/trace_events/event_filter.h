// Event filters (events/GRP/EVENT/filter, events/GRP/filter): Linux's predicate language of
// kernel/trace/trace_events_filter.c. `FIELD OP VALUE` predicates (==, !=, <, <=, >, >=, &
// on numbers; ==, !=, ~ glob on strings) joined with &&, ||, ! and parentheses. Fields are the
// event's own plus common_pid, COMM/comm and CPU/cpu. A filter that does not parse is refused
// with Linux's parse_error text and the position of the offending token.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "probesim/result.h"

namespace probesim::trace_events {

struct TraceRecord;

// A field an event has, as a filter may name it.
struct FilterField {
  std::string name;
  bool is_string = false;
};

// A parse failure: Linux's message ("Field not found") and the offset of the token.
struct FilterError {
  std::string message;
  size_t pos = 0;
  // The filter file's text after a failed write (append_filter_err): the filter, a caret
  // under the position, "parse_error: <message>".
  std::string file_text(std::string_view filter) const;
};

class EventFilter {
 public:
  struct Node;
  // Parses `text` against the event's `fields` (common ones are added).
  static std::variant<EventFilter, FilterError> parse(std::string_view text,
                                                      std::span<const FilterField> fields);
  // Whether the record passes (values are the record's printed fields, read back as numbers
  // or strings; common_pid is the record's pid, COMM its comm, CPU its cpu).
  bool matches(const TraceRecord& r) const;
  const std::string& text() const { return text_; }

  EventFilter(EventFilter&&) noexcept;
  EventFilter& operator=(EventFilter&&) noexcept;
  ~EventFilter();

 private:
  EventFilter() = default;
  std::string text_;
  std::unique_ptr<Node> root_;
};

}  // namespace probesim::trace_events
