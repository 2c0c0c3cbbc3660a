// Queue IDs (queue_id.h).

#include "common/queue/queue_id.h"

#include <unistd.h>

#include <chrono>

#include "common/base/log.h"

namespace tern::queue {
namespace {

constexpr unsigned kPidBits = 22;
constexpr unsigned kCounterBits = 8;
constexpr unsigned kCounterMax = (1u << kCounterBits) - 1;
constexpr size_t kSuffixDigits = kQueueIdLength - kQueueIdTimeDigits;
static_assert(kPidBits + kCounterBits <= 5 * kSuffixDigits, "suffix too short for pid and counter");
static_assert(kQueueIdAlphabet.size() == 32);
// 11 digits hold every microsecond until the year 3111.
static_assert((1LL << (5 * kQueueIdTimeDigits)) / 1'000'000 / 86400 / 366 > 1000);

// Writes `value` as `digits` base-32 digits, most significant first.
void append_base32(std::string& out, unsigned long long value, size_t digits) {
  for (size_t i = digits; i-- > 0;) out.push_back(kQueueIdAlphabet[(value >> (5 * i)) & 31]);
}

int digit_value(char c) {
  size_t pos = kQueueIdAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

QueueIdGenerator::QueueIdGenerator(Clock& clock) : clock_(clock) {}

QueueIdGenerator::QueueIdGenerator(Clock& clock, unsigned pid) : clock_(clock), pid_(pid) {
  TERN_ASSERT(pid > 0 && pid < (1u << kPidBits));
}

std::string QueueIdGenerator::next() {
  long long now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(clock_.wall_now().time_since_epoch()).count();
  if (now_us < 0) now_us = 0;
  unsigned pid = pid_ != 0 ? pid_ : static_cast<unsigned>(::getpid());
  // Linux pids stay below 2^22 (PID_MAX_LIMIT); anything else is our bug.
  TERN_ASSERT(pid < (1u << kPidBits));

  long long us;
  unsigned counter;
  {
    std::lock_guard lock(mu_);
    if (now_us > last_us_) {
      last_us_ = now_us;
      counter_ = 0;
    } else if (counter_ < kCounterMax) {
      ++counter_;  // same microsecond (or the clock went back): next counter
    } else {
      ++last_us_;  // the microsecond is used up: borrow the next one
      counter_ = 0;
    }
    us = last_us_;
    counter = counter_;
  }

  std::string id;
  id.reserve(kQueueIdLength);
  append_base32(id, static_cast<unsigned long long>(us), kQueueIdTimeDigits);
  append_base32(id, (static_cast<unsigned long long>(pid) << kCounterBits) | counter, kSuffixDigits);
  return id;
}

bool is_valid_queue_id(std::string_view id) {
  if (id.size() != kQueueIdLength) return false;
  for (char c : id)
    if (digit_value(c) < 0) return false;
  return true;
}

long long queue_id_time_us(std::string_view id) {
  if (!is_valid_queue_id(id)) return -1;
  long long us = 0;
  for (size_t i = 0; i < kQueueIdTimeDigits; ++i) us = us << 5 | digit_value(id[i]);
  return us;
}

}  // namespace tern::queue
