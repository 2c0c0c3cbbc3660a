#include "common/event/line_reader.h"

namespace tern::event {

LineReader::Read LineReader::next(evbuffer* in, std::string* line) {
  for (;;) {
    evbuffer_ptr eol = evbuffer_search(in, "\n", 1, nullptr);
    size_t avail = evbuffer_get_length(in);
    if (eol.pos < 0) {
      if (avail <= limit_) return Read::kNeedMore;
      evbuffer_drain(in, avail);
      if (discarding_) return Read::kNeedMore;
      discarding_ = true;
      return Read::kTooLong;
    }
    size_t len = static_cast<size_t>(eol.pos);
    if (discarding_ || len > limit_) {
      bool report = !discarding_;
      discarding_ = false;
      evbuffer_drain(in, len + 1);
      if (report) return Read::kTooLong;
      continue;
    }
    line->resize(len);
    evbuffer_remove(in, line->data(), len);
    evbuffer_drain(in, 1);
    if (!line->empty() && line->back() == '\r') line->pop_back();
    return Read::kLine;
  }
}

}  // namespace tern::event
