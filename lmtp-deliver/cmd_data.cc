// DATA (RFC 2033 4.2): the message streams into the spool file; at its
// end each accepted recipient's copy is written on the worker pool (all at
// once: the file system batches their fsyncs), and then one reply per
// accepted RCPT goes out in RCPT order, each 250 only once that copy is in
// new/ and new/ is fsynced.

#include "common/base/log.h"
#include "common/base/strings.h"
#include "lmtp-deliver/session.h"

namespace tern::lmtp {

void Session::cmd_data(const Command& c) {
  if (!c.args.empty()) return reply(501, "5.5.4", "Syntax: DATA");
  if (!mail_) return reply(503, "5.5.1", "Error: need MAIL command");
  // RFC 2033 4.2: no successful RCPT, DATA fails with 503.
  if (rcpts_.empty()) return reply(503, "5.5.1", "Error: need RCPT command");
  auto spool = open_spool(settings_.temp_directory);
  if (!spool) {
    log::error("%s: cannot create a temporary file: %s", id_.c_str(), spool.error().text.c_str());
    return reply(451, "4.3.0", "Error: temporary file write error");
  }
  spool_ = std::make_shared<Fd>(std::move(*spool));
  spool_size_ = 0;
  too_big_ = false;
  spool_failed_ = false;
  headers_ = HeaderScan();
  decoder_.emplace(mail::DataDecoder::BareNewlines::kNormalize);
  phase_ = Phase::kData;
  reply(354, "", "End data with <CR><LF>.<CR><LF>");
}

void Session::data_input() {
  evbuffer* in = bufferevent_get_input(bev_.get());
  while (evbuffer_get_length(in) > 0 && !decoder_->done()) {
    evbuffer_iovec chunk;
    if (evbuffer_peek(in, -1, nullptr, &chunk, 1) < 1) break;
    std::string_view bytes(static_cast<const char*>(chunk.iov_base), chunk.iov_len);
    decoded_.clear();
    size_t used = decoder_->feed(bytes, &decoded_);
    evbuffer_drain(in, used);
    if (decoded_.empty() || too_big_ || spool_failed_) continue;
    headers_.feed(decoded_);
    if (settings_.message_size_limit && spool_size_ + decoded_.size() > settings_.message_size_limit) {
      too_big_ = true;  // the rest is read (to find its end) and dropped
      continue;
    }
    if (Status st = write_all(spool_->get(), decoded_); !st) {
      log::error("%s: temporary file write error: %s", id_.c_str(), st.error().text.c_str());
      spool_failed_ = true;
      continue;
    }
    spool_size_ += decoded_.size();
  }
  if (decoder_->done()) data_end();
}

void Session::data_end() {
  phase_ = Phase::kCommands;
  headers_.finish();
  if (too_big_ || spool_failed_) {
    Reply r = too_big_ ? Reply{552, "5.3.4", "Error: message file too big"}
                       : Reply{451, "4.3.0", "Error: temporary file write error"};
    log::info("%s: from=<%s>, size=%llu: refused: %s", id_.c_str(), mail_->sender.str().c_str(),
              static_cast<unsigned long long>(spool_size_), r.line().c_str());
    for (auto& rcpt : rcpts_) rcpt.result.reply = r;
    return send_data_replies();
  }
  if (!deliver_all()) send_data_replies();
}

// Starts one job per distinct recipient; false when none was needed (every
// recipient was refused here).
bool Session::deliver_all() {
  const std::string sender = mail_->sender.is_null ? "" : mail_->sender.str();
  jobs_left_ = 0;
  std::weak_ptr<bool> alive = alive_;
  for (size_t i = 0; i < rcpts_.size(); ++i) {
    Rcpt& rcpt = rcpts_[i];
    if (rcpt.dup_of >= 0) continue;
    const std::string& to = rcpt.resolved.delivered_to;
    // Postfix's local(8): a message that already went through this mailbox
    // is looping (a forward back to here); refuse it for this recipient.
    if (headers_.delivered_to(to)) {
      rcpt.result.reply = Reply{554, "5.4.6", "mail forwarding loop for <" + to + ">"};
      rcpt.result.why = "mail forwarding loop";
      continue;
    }
    DeliveryRequest req;
    req.box = rcpt.box;
    req.address = to;
    if (settings_.save_to_detail_mailbox) req.folder = rcpt.resolved.detail;
    req.prepend = "Return-Path: <" + sender + ">\r\nDelivered-To: " + to + "\r\n";
    req.spool_fd = spool_->get();
    req.spool_size = spool_size_;
    auto result = std::make_shared<DeliveryResult>();
    ++jobs_left_;
    ctx_.workers().submit([req = std::move(req), spool = spool_, result] { *result = deliver_copy(req); },
                          [this, alive, result, i] {
                            if (alive.expired()) return;
                            rcpts_[i].result = std::move(*result);
                            if (--jobs_left_ == 0) {
                              send_data_replies();
                              resume();
                            }
                          });
  }
  if (jobs_left_ == 0) return false;
  wait();
  return true;
}

// One reply per accepted RCPT, in their order (RFC 2033 4.2), and a log
// line per copy.
void Session::send_data_replies() {
  const std::string from = mail_->sender.str();
  const std::string msgid = headers_.message_id();
  for (auto& rcpt : rcpts_) {
    const Rcpt& src = rcpt.dup_of >= 0 ? rcpts_[static_cast<size_t>(rcpt.dup_of)] : rcpt;
    send(src.result.reply);
    if (rcpt.dup_of >= 0) continue;
    const DeliveryResult& d = rcpt.result;
    std::string line = strf("%s: from=<%s>, to=<%s>", id_.c_str(), from.c_str(), rcpt.resolved.delivered_to.c_str());
    if (!msgid.empty()) line += ", msgid=" + msgid;
    line += strf(", size=%llu", static_cast<unsigned long long>(d.size ? d.size : spool_size_));
    if (d.reply.ok()) {
      line += ", saved to " + d.folder;
      deliveries_++;
    } else {
      line += ", refused: " + d.reply.line();
      if (!d.why.empty()) line += " (" + d.why + ")";
    }
    if (d.reply.code >= 400 && d.reply.code < 500 && d.reply.code != 452) log::warning("%s", line.c_str());
    else log::info("%s", line.c_str());
  }
  reset_transaction();
}

void Session::reset_transaction() {
  lookup_.reset();
  mail_.reset();
  rcpts_.clear();
  pending_ = Rcpt();
  decoder_.reset();
  spool_.reset();
  spool_size_ = 0;
  too_big_ = false;
  spool_failed_ = false;
  jobs_left_ = 0;
}

}  // namespace tern::lmtp
