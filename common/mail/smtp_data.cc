#include "common/mail/smtp_data.h"

#include <cstring>

namespace tern::mail {

void DataDecoder::bare_lf(std::string* out) {
  bare_lf_ = true;
  // Stored as CRLF either way: a queue file holds the message as it goes on
  // the wire. In reject mode the content is discarded anyway.
  out->append("\r\n");
  state_ = State::kLineStartAfterBare;
}

void DataDecoder::middle_byte(char c, std::string* out) {
  if (c == '\r') {
    state_ = State::kCr;
  } else if (c == '\n') {
    bare_lf(out);
  } else {
    out->push_back(c);
    state_ = State::kMiddle;
  }
}

size_t DataDecoder::feed(std::string_view in, std::string* out) {
  size_t i = 0;
  while (i < in.size() && state_ != State::kDone) {
    char c = in[i];
    switch (state_) {
      case State::kLineStart:
      case State::kLineStartAfterBare:
        if (c == '.') {
          dot_after_bare_ = state_ == State::kLineStartAfterBare;
          state_ = State::kDot;
          ++i;
          continue;
        }
        [[fallthrough]];
      case State::kMiddle: {
        // Fast path: copy the run up to the next CR or LF in one go.
        if (c != '\r' && c != '\n') {
          const char* start = in.data() + i;
          size_t n = in.size() - i;
          const void* cr = std::memchr(start, '\r', n);
          const void* lf = std::memchr(start, '\n', n);
          size_t stop = n;
          if (cr) stop = static_cast<size_t>(static_cast<const char*>(cr) - start);
          if (lf) stop = std::min(stop, static_cast<size_t>(static_cast<const char*>(lf) - start));
          out->append(start, stop);
          i += stop;
          state_ = State::kMiddle;
          continue;
        }
        middle_byte(c, out);
        ++i;
        continue;
      }
      case State::kCr:
        if (c == '\n') {
          out->append("\r\n");
          state_ = State::kLineStart;
        } else {
          bare_cr_ = true;
          out->push_back('\r');
          if (c == '\r') {
            ++i;
            continue;  // still waiting for the LF of the newest CR
          }
          middle_byte(c, out);
        }
        ++i;
        continue;
      case State::kDot:
        // The leading dot is removed (RFC 5321 4.5.2) unless it is the end.
        if (c == '\r') {
          state_ = State::kDotCr;
        } else {
          middle_byte(c, out);
        }
        ++i;
        continue;
      case State::kDotCr:
        if (c == '\n') {
          if (!dot_after_bare_) {
            state_ = State::kDone;
          } else {
            out->append("\r\n");  // a line holding only a dot, after a bare LF
            state_ = State::kLineStart;
          }
        } else {
          bare_cr_ = true;
          out->push_back('\r');
          middle_byte(c, out);
        }
        ++i;
        continue;
      case State::kDone:
        break;
    }
  }
  return i;
}

}  // namespace tern::mail
