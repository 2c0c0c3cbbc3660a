// DATA (RFC 5321 4.1.1.4): the message streams through the cleanup step
// into tmp/; at the end of data the queue file is finished and committed on
// the worker pool (fsync of the file, rename into incoming/, fsync of
// incoming/), and only then is the client told 250 (DESIGN.md: nothing is
// acknowledged before it is durable).

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/queue/qfile.h"
#include "smtpd/session.h"
#include "common/mail/header.h"

namespace tern::smtpd {

// The queue file with its envelope and Received: (RFC 5321 4.4), for DATA
// and for the first BDAT alike; the message then streams into cleanup_.
std::optional<Session::Refusal> Session::begin_message() {
  queue::Envelope env;
  env.arrival = ctx_.clock().wall_now();
  env.sender = mail_->sender.is_null ? "" : mail_->sender.str();
  switch (mail_->params.body) {
    case mail::Body::k7Bit: env.body = queue::BodyType::k7Bit; break;
    case mail::Body::k8BitMime: env.body = queue::BodyType::k8BitMime; break;
    case mail::Body::kBinaryMime: env.body = queue::BodyType::kBinaryMime; break;
    case mail::Body::kUnspecified: break;
  }
  env.smtputf8 = mail_->params.smtputf8;
  if (mail_->params.ret == mail::Ret::kFull) env.ret = queue::DsnRet::kFull;
  if (mail_->params.ret == mail::Ret::kHdrs) env.ret = queue::DsnRet::kHdrs;
  if (mail_->params.envid) env.envid = *mail_->params.envid;
  env.attributes[std::string(queue::attr::kClientAddress)] = peer_.address;
  env.attributes[std::string(queue::attr::kClientPort)] = std::to_string(peer_.port);
  env.attributes[std::string(queue::attr::kClientName)] = client_name_;
  env.attributes[std::string(queue::attr::kHeloName)] = helo_;
  const std::string protocol = mail::with_protocol(esmtp_, tls_active_, authenticated());
  env.attributes[std::string(queue::attr::kProtocol)] = protocol;
  if (authenticated()) {
    env.attributes[std::string(queue::attr::kSaslMethod)] = sasl_method_;
    env.attributes[std::string(queue::attr::kSaslUsername)] = sasl_user_;
  }
  env.recipients = rcpts_;

  mail::ReceivedInfo trace;
  trace.helo = helo_;
  trace.client_name = client_name_;
  trace.client_addr = peer_.address;
  trace.by_host = settings_.myhostname;
  trace.mail_name = settings_.mail_name;
  trace.protocol = protocol;
  if (tls_active_) {
    if (!tls_) {
      if (SSL* ssl = bufferevent_openssl_get_ssl(bev_.get())) tls_ = tls::negotiated(ssl);
    }
    if (tls_) {
      mail::TlsDetails t;
      t.protocol = tls_->protocol;
      t.cipher = tls_->cipher;
      t.usebits = tls_->usebits;
      t.algbits = tls_->algbits;
      t.key_exchange = tls_->key_exchange;
      trace.tls = t;
    }
  }
  // One recipient is named, as Postfix does; more would leak a Bcc list.
  if (rcpts_.size() == 1) trace.recipient = rcpts_.front().address;
  trace.time = ctx_.clock().wall_now();
  trace.zone = mail::TimeZone::local(trace.time);
  queue::CleanupSettings cleanup_settings = settings_.cleanup;
  // RFC 6409 8.2 and 8.3: a submission server may add a missing Date: and
  // Message-ID:. Tern does it for authenticated sessions only (mail from its
  // own users), as Postfix does for local_header_rewrite_clients; mail from
  // other MTAs is left as it came.
  cleanup_settings.add_missing_headers = authenticated();
  cleanup_settings.hold = hold_;  // a HOLD action at RCPT (restrictions.h)
  auto cleanup = queue::Cleanup::begin(cleanup_settings, std::move(env), std::string(), ids_, ctx_.clock());
  if (!cleanup) {
    const Error& e = cleanup.error();
    std::string text = e.text;
    Errc code = e.code;
    const char* command = chunking_ ? "BDAT" : "DATA";
    reset_transaction();
    if (code == Errc::kLimit) {  // alias expansion loops or explodes
      log::warning("NOQUEUE: reject: %s from %s: %s", command, client().c_str(), text.c_str());
      return Refusal{554, "5.4.6", "Error: " + text};
    }
    if (code == Errc::kInvalid) {  // every recipient was an alias to nowhere
      log::warning("NOQUEUE: reject: %s from %s: %s", command, client().c_str(), text.c_str());
      return Refusal{550, "5.1.1", "Error: " + text};
    }
    if (code == Errc::kTemporary) log::warning("alias lookup failed: %s", text.c_str());
    else log::error("cannot create a queue file: %s", text.c_str());
    return Refusal{451, "4.3.0", code == Errc::kTemporary ? "Error: temporary lookup failure" : "Error: queue file write error",
                   false};
  }
  cleanup_ = std::move(*cleanup);
  trace.queue_id = cleanup_->queue_id();
  if (auto s = cleanup_->append(mail::received_header(trace) + "\r\n"); !s) {
    log::error("%s: queue file write error: %s", cleanup_->queue_id().c_str(), s.error().text.c_str());
    reset_transaction();
    return Refusal{451, "4.3.0", "Error: queue file write error", false};
  }
  // Postfix's shape, which log summarisers read the SASL login from.
  if (authenticated())
    log::info("%s: client=%s, sasl_method=%s, sasl_username=%s", cleanup_->queue_id().c_str(), client().c_str(),
              sasl_method_.c_str(), sasl_user_.c_str());
  else
    log::info("%s: client=%s", cleanup_->queue_id().c_str(), client().c_str());
  return std::nullopt;
}

void Session::cmd_data(const Command& c) {
  if (!c.args.empty()) return error_reply(501, "5.5.4", "Syntax: DATA");
  if (!mail_) return error_reply(503, "5.5.1", "Error: need MAIL command");
  // RFC 3030 2: DATA and BDAT do not mix in one transaction.
  if (chunking_) return error_reply(503, "5.5.1", "Error: DATA after BDAT");
  if (rcpts_.empty()) return error_reply(503, "5.5.1", "Error: need RCPT command");
  if (auto refused = begin_message()) return refuse(*refused);
  decoder_.emplace(settings_.normalize_bare_newlines ? mail::DataDecoder::BareNewlines::kNormalize
                                                      : mail::DataDecoder::BareNewlines::kReject);
  data_failed_ = false;
  phase_ = Phase::kData;
  data_deadline_.start(settings_.data_timeout);
  reply(354, "", "End data with <CR><LF>.<CR><LF>");
}

// Feeds what has arrived to the decoder and the cleanup step; the content
// after the first failure is decoded (to find the end) and dropped.
void Session::data_input() {
  evbuffer* in = bufferevent_get_input(bev_.get());
  while (evbuffer_get_length(in) > 0 && !decoder_->done()) {
    evbuffer_iovec chunk;
    if (evbuffer_peek(in, -1, nullptr, &chunk, 1) < 1) break;
    std::string_view bytes(static_cast<const char*>(chunk.iov_base), chunk.iov_len);
    decoded_.clear();
    size_t used = decoder_->feed(bytes, &decoded_);
    evbuffer_drain(in, used);
    if (!data_failed_ && !decoder_->refused() && !decoded_.empty()) {
      if (!cleanup_->append(decoded_)) data_failed_ = true;
    }
  }
  if (decoder_->done()) data_end();
}

void Session::data_end() {
  data_deadline_.cancel();
  phase_ = Phase::kCommands;
  if (auto refused = content_refusal(decoder_->refused() ? "<LF> or <CR>" : nullptr)) {
    reset_transaction();
    return refuse(*refused);
  }
  commit_message();
}

void Session::refuse(const Refusal& r) {
  if (r.counts) return error_reply(r.code, r.enhanced, r.text);
  reply(r.code, r.enhanced, r.text);
}

// Why the content that went into cleanup_ cannot be queued, if it cannot:
// a bare CR or LF the decoder refused, or what the cleanup step refused.
std::optional<Session::Refusal> Session::content_refusal(const char* bare) {
  const std::string& id = cleanup_->queue_id();
  if (bare) {
    log::info("%s: reject: bare %s in message content from %s", id.c_str(), bare, client().c_str());
    return Refusal{550, "5.5.2", std::string("Error: bare ") + bare + " received in message content"};
  }
  if (!data_failed_) return std::nullopt;
  switch (cleanup_->fault()) {
    case queue::CleanupFault::kTooBig:
      log::info("%s: reject: message size exceeds message_size_limit from %s", id.c_str(), client().c_str());
      return Refusal{552, "5.3.4", "Error: message file too big"};
    case queue::CleanupFault::kHeaderTooLarge:
      return Refusal{552, "5.3.4", "Error: message header too large"};
    case queue::CleanupFault::kTooManyHops:
      log::info("%s: reject: too many hops from %s", id.c_str(), client().c_str());
      return Refusal{554, "5.4.6", "Error: too many hops (mail loop?)"};
    case queue::CleanupFault::kSystem:
    case queue::CleanupFault::kNone:
      break;
  }
  return Refusal{451, "4.3.0", "Error: queue file write error", false};
}

// Durable before acknowledged: fsync, rename, fsync of incoming/ happen on
// a worker; reading stops until they are done.
void Session::commit_message() {
  phase_ = Phase::kWaiting;
  pause_reading();
  timeout_.cancel();
  std::shared_ptr<queue::Cleanup> job(std::move(cleanup_));
  auto result = std::make_shared<Status>();
  std::weak_ptr<bool> alive = alive_;
  // DISCARD (access(5)): the client hears 250 as if the message were
  // queued, and nothing is: the file in tmp/ is removed (an unlink, so on
  // the worker too).
  const bool discard = discard_;
  ctx_.workers().submit(
      [job, result, discard] {
        if (discard) return job->abort();
        *result = job->finish();
        if (result->ok()) *result = job->commit();
        if (!result->ok()) job->abort();
      },
      [this, job, result, alive] {
        if (alive.expired()) return;
        data_committed(*job, *result);
      });
}

void Session::data_committed(queue::Cleanup& job, const Status& result) {
  phase_ = Phase::kCommands;
  const bool chunked = chunking_.has_value();
  if (result.ok()) {
    // Postfix's cleanup line, which log tools key on (e.g. to find a message
    // a user asks about).
    if (!job.message_id().empty()) log::info("%s: message-id=%s", job.queue_id().c_str(), job.message_id().c_str());
    if (discard_)
      log::info("%s: discard: from=<%s>, size=%llu, nrcpt=%zu: discarded by an access table DISCARD action",
                job.queue_id().c_str(), mail_->sender.str().c_str(), static_cast<unsigned long long>(job.size()),
                job.recipient_count());
    else
      log::info("%s: from=<%s>, size=%llu, nrcpt=%zu (%s)", job.queue_id().c_str(), mail_->sender.str().c_str(),
                static_cast<unsigned long long>(job.size()), job.recipient_count(),
                hold_ ? "queued, on hold" : "queued");
    // BDAT's answer also counts the octets, as Postfix's does.
    if (chunked)
      reply(250, "2.0.0",
            "Ok: " + std::to_string(chunking_->account.total()) + " bytes queued as " + job.queue_id());
    else
      reply(250, "2.0.0", "Ok: queued as " + job.queue_id());
    messages_++;
  } else {
    log::error("%s: cannot make the queue file durable: %s", job.queue_id().c_str(), result.error().text.c_str());
    reply(451, "4.3.0", "Error: queue file write error");
  }
  reset_transaction();
  if (closing_after_wait_) return finish(chunked ? "lost connection after BDAT" : "lost connection after DATA");
  resume_reading();
  process_input();
}

}  // namespace tern::smtpd
