#pragma once
// Owners for libevent's C handles: move-only, freed on destruction by a
// zero-size deleter. No bare event_free() or event_base_free() elsewhere.

#include <event2/bufferevent.h>
#include <event2/event.h>

#include <memory>

namespace tern::event {

struct EventBaseDeleter {
  void operator()(event_base* base) const noexcept { event_base_free(base); }
};
struct EventConfigDeleter {
  void operator()(event_config* config) const noexcept { event_config_free(config); }
};
// Safe on an event whose callback is running on this thread (libevent 2.1
// copies the callback before invoking it).
struct EventDeleter {
  void operator()(::event* ev) const noexcept { event_free(ev); }
};
struct BuffereventDeleter {
  void operator()(bufferevent* bev) const noexcept { bufferevent_free(bev); }
};

using EventBasePtr = std::unique_ptr<event_base, EventBaseDeleter>;
using EventConfigPtr = std::unique_ptr<event_config, EventConfigDeleter>;
using EventPtr = std::unique_ptr<::event, EventDeleter>;
using BuffereventPtr = std::unique_ptr<bufferevent, BuffereventDeleter>;

}  // namespace tern::event
