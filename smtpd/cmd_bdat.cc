// BDAT (RFC 3030, CHUNKING): the message in chunks of exactly announced
// size, into the same cleanup step as DATA (cmd_data.cc: begin_message,
// content_refusal, commit_message), so the queue file, the Received: field
// ("with ESMTP", as Postfix writes it for BDAT too), the limits and the
// durability are DATA's. Line ends: common/mail/smtp_bdat.h.
//
//   - The octets of a chunk are always read to the last one before the
//     answer, even when the chunk is refused (no transaction, over
//     message_size_limit, a refused earlier chunk): RFC 3030 2 and 4.2 have
//     the server consume them, so the session stays in step with the client.
//     A refused chunk is dropped as it arrives; nothing of it reaches disk.
//   - A refused chunk fails the transaction (RFC 3030 2): it is reset, and
//     the chunks the client pipelined behind it (which it may, with
//     PIPELINING) are read and get the same answer, counted as one error,
//     until its LAST chunk or any other command.
//   - message_size_limit holds for the running total of the announced
//     sizes, before a chunk is read: an oversize chunk is never written.
//   - Each chunk gets 250 2.0.0 "Ok: N bytes" once read; the LAST one gets
//     its 250 only once the queue file is durable, as DATA's end does.
//   - smtpd_timeout holds for each read and smtpd_data_timeout for each
//     chunk, as they do for DATA.
//   - A BDAT whose size cannot be parsed gets 501 5.5.4 and, since the
//     message has lost a chunk, ends the transaction; the octets that
//     follow cannot be told from commands and are read as such.
//   - DATA after BDAT in one transaction is 503 5.5.1 (RFC 3030 2), and so
//     is RCPT: the queue file's envelope was written at the first chunk.
//   - BODY=BINARYMIME is not offered (cmd_mail.cc): CHUNKING alone, as in
//     Postfix.

#include <event2/buffer.h>

#include "common/base/log.h"
#include "smtpd/session.h"

namespace tern::smtpd {

void Session::cmd_bdat(const Command& c) {
  auto args = mail::parse_bdat_args(c.args);
  if (!args) {
    bdat_failure_.reset();
    if (chunking_) {
      log::info("%s: reject: BDAT syntax from %s: %s", cleanup_ ? cleanup_->queue_id().c_str() : "NOQUEUE",
                client().c_str(), args.error().text.c_str());
      reset_transaction();
    }
    return error_reply(501, "5.5.4", "Syntax: BDAT count [LAST]");
  }
  chunk_size_ = args->size;
  chunk_left_ = args->size;
  chunk_last_ = args->last;
  chunk_refusal_.reset();
  if (bdat_failure_) {
    chunk_refusal_ = bdat_failure_;
  } else if (!mail_) {
    chunk_refusal_ = Refusal{503, "5.5.1", "Error: need MAIL command"};
  } else if (rcpts_.empty()) {
    chunk_refusal_ = Refusal{503, "5.5.1", "Error: need RCPT command"};
  } else {
    if (!chunking_) {
      chunking_.emplace(Chunking{
          mail::ChunkDecoder(settings_.normalize_bare_newlines ? mail::ChunkDecoder::BareCr::kKeep
                                                               : mail::ChunkDecoder::BareCr::kRefuse),
          mail::ChunkAccount(settings_.message_size_limit)});
      data_failed_ = false;
      chunk_refusal_ = begin_message();  // when it refuses, the transaction is gone
    }
    if (!chunk_refusal_ && !chunking_->account.admit(args->size)) {
      log::info("%s: reject: message size exceeds message_size_limit from %s", cleanup_->queue_id().c_str(),
                client().c_str());
      chunk_refusal_ = Refusal{552, "5.3.4", "Error: message file too big"};
      reset_transaction();
    }
  }
  phase_ = Phase::kBdat;
  data_deadline_.start(settings_.data_timeout);
  // process_input reads the octets next (bdat_input).
}

// Takes what has arrived of the chunk, never more: what follows it is the
// next command.
void Session::bdat_input() {
  evbuffer* in = bufferevent_get_input(bev_.get());
  while (chunk_left_ > 0 && evbuffer_get_length(in) > 0) {
    evbuffer_iovec v;
    if (evbuffer_peek(in, -1, nullptr, &v, 1) < 1) break;
    size_t n = v.iov_len;
    if (n > chunk_left_) n = static_cast<size_t>(chunk_left_);
    if (!chunk_refusal_) {
      decoded_.clear();
      chunking_->decoder.feed(std::string_view(static_cast<const char*>(v.iov_base), n), &decoded_);
      // After the first failure the rest is read and dropped.
      if (!data_failed_ && !chunking_->decoder.refused() && !decoded_.empty() && !cleanup_->append(decoded_))
        data_failed_ = true;
    }
    evbuffer_drain(in, n);
    chunk_left_ -= n;
  }
  if (chunk_left_ == 0) bdat_chunk_end();
}

void Session::bdat_chunk_end() {
  data_deadline_.cancel();
  phase_ = Phase::kCommands;
  std::optional<Refusal> refusal = std::move(chunk_refusal_);
  chunk_refusal_.reset();
  if (!refusal) {
    if (chunk_last_) {
      decoded_.clear();
      chunking_->decoder.finish(&decoded_);
      if (!data_failed_ && !chunking_->decoder.refused() && !decoded_.empty() && !cleanup_->append(decoded_))
        data_failed_ = true;
    }
    refusal = content_refusal(chunking_->decoder.refused() ? "<CR>" : nullptr);
    if (refusal) reset_transaction();
  }
  if (refusal) {
    // The rest of a pipelined burst gets the same answer, not counted again.
    if (chunk_last_) {
      bdat_failure_.reset();
    } else {
      bdat_failure_ = *refusal;
      bdat_failure_->counts = false;
    }
    return refuse(*refusal);
  }
  if (!chunk_last_) return reply(250, "2.0.0", "Ok: " + std::to_string(chunk_size_) + " bytes");
  commit_message();
}

}  // namespace tern::smtpd
