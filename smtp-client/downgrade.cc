// Session, a next hop without 8BITMIME (RFC 6152 3): before MAIL FROM the
// message is scanned (common/mail/mime_downgrade.h) a chunk per loop turn,
// so a 50 MB message never holds up the other sessions of the process.
//   - nothing 8-bit in the bodies: sent as it is;
//   - 8-bit bodies: converted to quoted-printable while it is sent
//     (MessageStream with the plan), the MAIL FROM without BODY=8BITMIME;
//   - 8-bit data inside multipart/signed: every recipient bounced 5.6.3
//     (RFC 3463: conversion required but not supported), since converting
//     would break the signature and sending 8-bit to a 7-bit server breaks
//     RFC 6152; the session stays usable.
// disable_mime_output_conversion = yes skips all this and sends the
// message as it is (Postfix's switch of the same name).
#include <vector>

#include "common/base/log.h"
#include "smtp-client/session.h"

namespace tern::smtp_client {

namespace {
constexpr size_t kScanPerTurn = 1024 * 1024;
}

bool Session::needs_downgrade_scan() const { return settings_.mime_output_conversion && !features_.eightbit; }

void Session::begin_downgrade_scan() {
  state_ = State::kScanning;
  scanner_ = std::make_unique<mail::MimeDowngrade>();
  scan_pos_ = 0;
  wait(settings_.data_xfer_timeout);
  scan_step();
}

void Session::scan_step() {
  if (state_ != State::kScanning || !scanner_) return;
  std::vector<char> buf(kChunk);
  std::string ignored;
  size_t done_now = 0;
  uint64_t size = job_.file->message_size();
  while (scan_pos_ < size && done_now < kScanPerTurn) {
    auto n = job_.file->read_message(scan_pos_, buf.data(), buf.size());
    if (!n) return fail_all(ipc::DeliveryAction::kDeferred, "4.3.0", "error reading the queue file: " + n.error().text);
    if (*n == 0) break;
    scanner_->feed(std::string_view(buf.data(), *n), ignored);
    scan_pos_ += *n;
    done_now += *n;
  }
  if (scan_pos_ < size) {
    std::weak_ptr<int> guard = guard_;
    loop_.post([this, guard] {
      if (!guard.expired()) scan_step();
    });
    return;
  }
  scanner_->finish(ignored);
  mail::DowngradePlan plan = scanner_->plan();
  scanner_.reset();
  if (plan.signed_8bit) {
    for (size_t i = 0; i < job_.rcpts.size(); ++i)
      results_[i] = result_failure(job_.rcpts[i].index, ipc::DeliveryAction::kBounced, "5.6.3", peer_.relay,
                                   "host " + peer_.label +
                                       " does not offer 8BITMIME, and the message has 8-bit data inside a "
                                       "multipart/signed part, which cannot be converted without breaking the "
                                       "signature");
    return finish();
  }
  if (plan.convert()) {
    log::debug("%s: converting 8-bit content to quoted-printable for %s", job_.queue_id.c_str(), peer_.label.c_str());
    downgrade_ = std::move(plan);
  }
  queue_commands();
}

}  // namespace tern::smtp_client
