#include "smtp-client/outcome.h"

#include "common/queue/qfile.h"

namespace tern::smtp_client {

ipc::DeliveryAction action_for_dsn(std::string_view dsn) {
  if (!dsn.empty() && dsn[0] == '2') return ipc::DeliveryAction::kDelivered;
  if (!dsn.empty() && dsn[0] == '5') return ipc::DeliveryAction::kBounced;
  return ipc::DeliveryAction::kDeferred;
}

ipc::DeliveryResult result_from_reply(size_t index, const Reply& reply, const Peer& peer, std::string_view command,
                                      bool dsn_offered, unsigned notify) {
  ipc::DeliveryResult r;
  r.index = index;
  r.dsn = reply.dsn();
  r.relay = peer.relay;
  r.reply = reply.text();
  switch (reply.klass()) {
    case 2:
      r.action = !dsn_offered && (notify & queue::kNotifySuccess) ? ipc::DeliveryAction::kRelayed
                                                                   : ipc::DeliveryAction::kDelivered;
      r.reason = r.reply;
      return r;
    case 5:
      r.action = ipc::DeliveryAction::kBounced;
      break;
    default:
      // 3xx where 2xx/4xx/5xx belongs (a 354 to RCPT) is no success either.
      r.action = ipc::DeliveryAction::kDeferred;
      if (reply.klass() != 4) r.dsn = "4.5.0";
      break;
  }
  r.reason = "host " + peer.label + " said: " + r.reply + " (in reply to " + std::string(command) + " command)";
  return r;
}

ipc::DeliveryResult result_failure(size_t index, ipc::DeliveryAction action, std::string dsn, std::string relay,
                                   std::string reason) {
  ipc::DeliveryResult r;
  r.index = index;
  r.action = action;
  r.dsn = std::move(dsn);
  r.relay = std::move(relay);
  r.reason = std::move(reason);
  return r;
}

}  // namespace tern::smtp_client
