// loop.cc - the event loop over libevent, timers on Tern's clock.
//
// Timers live in our own ordered map keyed on (deadline on clock_, sequence
// number); one internal libevent timer is armed for the earliest deadline.
// The sequence number keeps timers with equal deadlines in start order and
// bounds a pass: a pass runs only timers started before it began, so a
// callback that restarts itself with a zero delay runs again on the next
// loop iteration instead of spinning inside this one.
//
// post() and stop() share one internal event that other threads activate
// with event_active() (thread-safe once evthread_use_pthreads() ran).

#include "common/event/loop.h"

#include <event2/thread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/signalfd.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "common/base/fd.h"
#include "common/base/log.h"
#include "common/event/handles.h"

namespace tern::event {
namespace {

void use_threads_once() {
  static const bool done = [] {
    if (evthread_use_pthreads() != 0) log::fatal("libevent: evthread_use_pthreads failed");
    return true;
  }();
  (void)done;
}

// Rounded up to the microsecond, so a timer never wakes just before its
// deadline and spins; capped, since a far deadline is simply re-armed.
timeval to_timeval(Duration d) {
  constexpr Duration kMax = std::chrono::hours(24);
  d = std::clamp(d, Duration::zero(), kMax);
  auto us = std::chrono::ceil<std::chrono::microseconds>(d).count();
  timeval tv;
  tv.tv_sec = static_cast<time_t>(us / 1'000'000);
  tv.tv_usec = static_cast<suseconds_t>(us % 1'000'000);
  return tv;
}

// The queue behind post(): shared with Posters, so threads that outlive the
// Loop post into a closed queue instead of a freed event.
class PostQueue final : public Loop::Poster {
 public:
  explicit PostQueue(::event* wake) : wake_(wake) {}

  bool post(std::function<void()> fn) override {
    std::lock_guard lock(mu_);
    if (wake_ == nullptr) return false;
    fns_.push_back(std::move(fn));
    event_active(wake_, EV_READ, 0);
    return true;
  }
  // Called by ~Loop before the wake event is freed.
  void close() {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard lock(mu_);
      wake_ = nullptr;
      dropped.swap(fns_);
    }
    // Destroyed outside the lock: a capture's destructor may post.
  }
  std::deque<std::function<void()>> take() {
    std::lock_guard lock(mu_);
    return std::exchange(fns_, {});
  }
  // Re-activates the wake event (stop() uses it).
  void wake() {
    std::lock_guard lock(mu_);
    if (wake_ != nullptr) event_active(wake_, EV_READ, 0);
  }

 private:
  std::mutex mu_;
  ::event* wake_;
  std::deque<std::function<void()>> fns_;
};

}  // namespace

// What the Loop's timer map points at; Timer::State is this.
struct TimerCore {
  using Key = std::pair<MonoTime, uint64_t>;
  Loop::Impl* impl = nullptr;
  std::function<void()> cb;
  bool pending = false;
  Key key;
  Duration period = Duration::zero();  // > 0: repeating
  bool* alive = nullptr;               // set while cb runs; cleared by ~State
};

struct Loop::Impl {
  Impl(Loop& loop, Clock& clock) : loop(loop), clock(clock) {}

  Loop& loop;
  Clock& clock;
  EventBasePtr base;
  EventPtr timer_ev;     // armed for the earliest deadline
  EventPtr wake_ev;      // post() and stop()
  EventPtr deadline_ev;  // run_for()'s real-time limit
  std::shared_ptr<PostQueue> posts;
  int clock_sub = 0;

  std::map<TimerCore::Key, TimerCore*> timers;
  uint64_t next_seq = 0;
  Duration coarse_tick = Duration::zero();  // CLOCK_MONOTONIC_COARSE's resolution
  bool in_timers = false;    // a timer pass is running
  bool dispatching = false;  // inside event_base_loop
  bool timed_out = false;
  std::atomic<bool> stop_requested{false};
  std::atomic<std::thread::id> thread{std::this_thread::get_id()};
  int live_watches = 0;

  void insert(TimerCore* t, MonoTime deadline) {
    t->key = {deadline, next_seq++};
    t->pending = true;
    timers.emplace(t->key, t);
    if (!in_timers && timers.begin()->second == t) rearm();
  }
  void remove(TimerCore* t) {
    if (!t->pending) return;
    timers.erase(t->key);
    t->pending = false;
    // No re-arm: a wake-up with nothing due just re-arms then.
  }

  void rearm() {
    if (timers.empty()) {
      event_del(timer_ev.get());
      return;
    }
    Duration left = timers.begin()->first.first - clock.now();
    // libevent measures the wait on its coarse clock, which lags the real
    // one by up to a tick: one tick more, so the wake-up is not early
    // (an early one would find nothing due and wait again).
    if (left > Duration::zero()) left += coarse_tick;
    timeval tv = to_timeval(left);
    event_add(timer_ev.get(), &tv);
  }

  // Runs the timers due now that were started before the pass began.
  void run_due() {
    in_timers = true;
    const uint64_t seq_limit = next_seq;
    const MonoTime now = clock.now();
    while (!timers.empty()) {
      auto it = timers.begin();
      if (it->first.first > now || it->first.second >= seq_limit) break;
      TimerCore* t = it->second;
      MonoTime deadline = it->first.first;
      timers.erase(it);
      t->pending = false;
      if (t->period > Duration::zero()) {
        MonoTime next = deadline + t->period;
        insert(t, next > now ? next : now + t->period);
      }
      fire(t);
    }
    in_timers = false;
    rearm();
  }

  // The callback may destroy the Timer (and so its std::function): it runs
  // from a local copy and is put back only if the Timer survived.
  static void fire(TimerCore* t) {
    bool alive = true;
    t->alive = &alive;
    std::function<void()> cb = std::move(t->cb);
    cb();
    if (!alive) return;
    t->alive = nullptr;
    if (!t->cb) t->cb = std::move(cb);
  }

  bool on_loop_thread() const { return thread.load() == std::this_thread::get_id(); }

  // TestClock::advance() lands here, on the thread that moved the clock.
  void on_clock_jump() {
    if (!on_loop_thread()) {
      event_active(timer_ev.get(), EV_TIMEOUT, 0);  // thread-safe under evthread
    } else if (in_timers) {
      // From a timer callback: the running pass re-arms for what became due.
    } else if (dispatching) {
      // From another callback: no timer runs nested inside it.
      event_active(timer_ev.get(), EV_TIMEOUT, 0);
    } else {
      run_due();  // idle loop, loop thread: fire now, as tests expect
    }
  }

  int loop_once_or_run(int flags) {
    if (dispatching) log::panic("event loop: run() called from inside a callback");
    thread.store(std::this_thread::get_id());
    dispatching = true;
    int rc = event_base_loop(base.get(), flags);
    dispatching = false;
    return rc;
  }

  static void on_timer(evutil_socket_t, short, void* arg) noexcept {
    static_cast<Impl*>(arg)->run_due();
  }
  static void on_wake(evutil_socket_t, short, void* arg) noexcept {
    auto* impl = static_cast<Impl*>(arg);
    for (auto& fn : impl->posts->take()) fn();
    if (impl->stop_requested.exchange(false)) event_base_loopbreak(impl->base.get());
  }
  static void on_deadline(evutil_socket_t, short, void* arg) noexcept {
    auto* impl = static_cast<Impl*>(arg);
    impl->timed_out = true;
    event_base_loopbreak(impl->base.get());
  }
};

Loop::Loop(Clock& clock) : clock_(clock), impl_(std::make_unique<Impl>(*this, clock)) {
  use_threads_once();
  EventConfigPtr config(event_config_new());
  if (!config) log::fatal("libevent: event_config_new failed");
  // No EVENT_BASE_FLAG_PRECISE_TIMER: on epoll it arms a timerfd with
  // timerfd_settime(2) before every epoll_wait, one more system call per
  // loop turn (two per message in a busy smtpd). Without it libevent waits
  // with epoll_wait's millisecond timeout and reads CLOCK_MONOTONIC_COARSE;
  // rearm() adds that clock's tick, so a timer is late by at most a tick
  // and a millisecond, never early. Tern's deadlines stay on clock_.
  timespec res{};
  if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0) {
    impl_->coarse_tick = std::min<Duration>(std::chrono::seconds(res.tv_sec) + std::chrono::nanoseconds(res.tv_nsec),
                                            std::chrono::milliseconds(10));
  }
  // epoll: the changes of one turn (a session that stops reading while a
  // worker answers, then reads again; a bufferevent's write interest) are
  // applied once, just before epoll_wait, instead of an epoll_ctl each.
  // libevent's caveat for this flag is a descriptor dup()ed and registered
  // twice in one loop; Tern never registers two descriptors that share an
  // open file description, and a closed descriptor's number reused in the
  // same turn is handled (a MOD that finds nothing becomes an ADD).
  event_config_set_flag(config.get(), EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
  impl_->base.reset(event_base_new_with_config(config.get()));
  if (!impl_->base) log::fatal("libevent: event_base_new failed");
  base_ = impl_->base.get();
  // Two priorities: signals (0) run before everything else (1, the default
  // with two queues) that became ready in the same turn. A process told to
  // stop (SIGTERM after a reload) must close its listeners before it accepts
  // a connection that arrived with the signal: libevent runs the first
  // non-empty priority queue and then polls again, and the stop removes the
  // pending accept events.
  if (event_base_priority_init(base_, 2) != 0) log::fatal("libevent: event_base_priority_init failed");

  impl_->timer_ev.reset(evtimer_new(base_, &Impl::on_timer, impl_.get()));
  impl_->wake_ev.reset(event_new(base_, -1, 0, &Impl::on_wake, impl_.get()));
  impl_->deadline_ev.reset(evtimer_new(base_, &Impl::on_deadline, impl_.get()));
  if (!impl_->timer_ev || !impl_->wake_ev || !impl_->deadline_ev) {
    log::fatal("libevent: event_new failed");
  }
  impl_->posts = std::make_shared<PostQueue>(impl_->wake_ev.get());
  Impl* impl = impl_.get();
  impl_->clock_sub = clock_.subscribe([impl] { impl->on_clock_jump(); });
}

Loop::~Loop() {
  clock_.unsubscribe(impl_->clock_sub);
  if (impl_->live_watches != 0) {
    log::panic("event loop destroyed with %d timers or watches still alive", impl_->live_watches);
  }
  impl_->posts->close();
  // impl_ frees the internal events, then the base.
}

int Loop::run() {
  int rc = impl_->loop_once_or_run(EVLOOP_NO_EXIT_ON_EMPTY);
  impl_->stop_requested.store(false);
  return rc < 0 ? -1 : 0;
}

bool Loop::run_for(Duration limit) {
  impl_->timed_out = false;
  timeval tv = to_timeval(limit);
  event_add(impl_->deadline_ev.get(), &tv);
  impl_->loop_once_or_run(EVLOOP_NO_EXIT_ON_EMPTY);
  event_del(impl_->deadline_ev.get());
  impl_->stop_requested.store(false);
  return !impl_->timed_out;
}

void Loop::run_pending() { impl_->loop_once_or_run(EVLOOP_NONBLOCK); }

void Loop::stop() {
  impl_->stop_requested.store(true);
  // loopbreak ends a running loop after the current callback; the wake
  // event carries the request into a run() that has not started yet
  // (event_base_loop clears the break flag when it starts).
  event_base_loopbreak(base_);
  impl_->posts->wake();
}

void Loop::post(std::function<void()> fn) { impl_->posts->post(std::move(fn)); }

std::shared_ptr<Loop::Poster> Loop::poster() { return impl_->posts; }

// ---- Timer ----

struct Timer::State : TimerCore {
  ~State() {
    if (alive != nullptr) *alive = false;
    if (impl != nullptr) {
      impl->remove(this);
      impl->live_watches--;
    }
  }
};

Timer::Timer(Loop& loop, std::function<void()> cb) : state_(std::make_unique<State>()) {
  state_->impl = loop.impl_.get();
  state_->cb = std::move(cb);
  state_->impl->live_watches++;
}

Timer::Timer() noexcept = default;
Timer::Timer(Timer&&) noexcept = default;
Timer& Timer::operator=(Timer&&) noexcept = default;
Timer::~Timer() = default;

void Timer::start(Duration after) {
  TERN_ASSERT(state_);
  Loop::Impl* impl = state_->impl;
  impl->remove(state_.get());
  state_->period = Duration::zero();
  impl->insert(state_.get(), impl->clock.now() + std::max(after, Duration::zero()));
}

void Timer::start_every(Duration period) {
  TERN_ASSERT(state_);
  TERN_ASSERT(period > Duration::zero());
  Loop::Impl* impl = state_->impl;
  impl->remove(state_.get());
  state_->period = period;
  impl->insert(state_.get(), impl->clock.now() + period);
}

void Timer::cancel() {
  if (state_) state_->impl->remove(state_.get());
}

bool Timer::pending() const { return state_ && state_->pending; }

// ---- IoWatch ----

struct IoWatch::State {
  Loop::Impl* impl = nullptr;
  EventPtr ev;
  int fd = -1;
  short events = 0;
  bool added = false;
  std::function<void(short)> cb;
  bool* alive = nullptr;

  ~State() {
    if (alive != nullptr) *alive = false;
    impl->live_watches--;
  }

  void apply(short new_events) {
    if (added) event_del(ev.get());
    added = false;
    events = new_events & (EV_READ | EV_WRITE);
    if (events == 0) return;
    // Re-assigning a deleted event is allowed, also from its own callback.
    event_assign(ev.get(), impl->loop.base(), fd, static_cast<short>(events | EV_PERSIST),
                 &State::on_event, this);
    added = event_add(ev.get(), nullptr) == 0;
  }

  static void on_event(evutil_socket_t, short what, void* arg) noexcept {
    auto* st = static_cast<State*>(arg);
    bool alive = true;
    st->alive = &alive;
    std::function<void(short)> cb = std::move(st->cb);
    cb(static_cast<short>(what & (EV_READ | EV_WRITE)));
    if (!alive) return;
    st->alive = nullptr;
    if (!st->cb) st->cb = std::move(cb);
  }
};

IoWatch::IoWatch(Loop& loop, int fd, short events, std::function<void(short)> cb)
    : state_(std::make_unique<State>()) {
  state_->impl = loop.impl_.get();
  state_->impl->live_watches++;
  state_->fd = fd;
  state_->cb = std::move(cb);
  state_->ev.reset(event_new(loop.base(), fd, EV_PERSIST, &State::on_event, state_.get()));
  if (!state_->ev) log::fatal("libevent: event_new failed");
  state_->apply(events);
}

IoWatch::IoWatch() noexcept = default;
IoWatch::IoWatch(IoWatch&&) noexcept = default;
IoWatch& IoWatch::operator=(IoWatch&&) noexcept = default;
IoWatch::~IoWatch() = default;

void IoWatch::set_events(short events) {
  TERN_ASSERT(state_);
  state_->apply(events);
}

void IoWatch::cancel() { state_.reset(); }

bool IoWatch::active() const { return state_ && state_->added; }

// ---- Deferred and SignalWatch ----

// A libevent event that calls a std::function<void()>, which may destroy
// its owner from inside the call.
struct CallbackEvent {
  Loop::Impl* impl = nullptr;
  EventPtr ev;
  std::function<void()> cb;
  bool* alive = nullptr;

  ~CallbackEvent() {
    if (alive != nullptr) *alive = false;
    impl->live_watches--;
  }

  static void on_event(evutil_socket_t, short, void* arg) noexcept {
    auto* st = static_cast<CallbackEvent*>(arg);
    bool alive = true;
    st->alive = &alive;
    std::function<void()> cb = std::move(st->cb);
    cb();
    if (!alive) return;
    st->alive = nullptr;
    if (!st->cb) st->cb = std::move(cb);
  }
};

struct Deferred::State : CallbackEvent {};

Deferred::Deferred(Loop& loop, std::function<void()> cb) : state_(std::make_unique<State>()) {
  state_->impl = loop.impl_.get();
  state_->impl->live_watches++;
  state_->cb = std::move(cb);
  state_->ev.reset(event_new(loop.base(), -1, 0, &State::on_event, state_.get()));
  if (!state_->ev) log::fatal("libevent: event_new failed");
}

Deferred::Deferred() noexcept = default;
Deferred::Deferred(Deferred&&) noexcept = default;
Deferred& Deferred::operator=(Deferred&&) noexcept = default;
Deferred::~Deferred() = default;

void Deferred::schedule() {
  TERN_ASSERT(state_);
  event_active(state_->ev.get(), EV_TIMEOUT, 0);  // already active: no change
}

void Deferred::cancel() {
  if (state_) event_del(state_->ev.get());
}

bool Deferred::scheduled() const { return state_ && event_pending(state_->ev.get(), EV_TIMEOUT, nullptr) != 0; }

#ifdef __linux__
// Linux: the signal is blocked on the loop thread and read from a signalfd.
// libevent's own way (a handler that writes to a socketpair) loses the
// ordering a reload depends on: a process woken by SIGTERM inside
// epoll_wait, but not scheduled before a connection arrives, gets the
// listener's readiness from epoll before its handler has run, and accepts
// that connection with the old configuration (CI saw it: an old smtpd
// counted a client made after `ternctl reload` against the old anvil's
// sessions). A signalfd is readable from the moment the signal is sent, so
// epoll reports it in the same batch as anything that became ready later,
// and priority 0 runs it first. (On the BSDs libevent's kqueue backend
// already reports signals as kevents, with the same ordering.)

// How many watches block each signal on this (the loop) thread, and whether
// it was blocked before the first: a watch replaced by another for the same
// signal (term_ = SignalWatch(...)) must not unblock it under the new one.
namespace {

struct BlockedSignals {
  std::mutex mu;
  int watches[NSIG] = {};
  bool blocked_before[NSIG] = {};
};

BlockedSignals& blocked_signals() {
  static BlockedSignals b;
  return b;
}

}  // namespace

struct SignalWatch::State : CallbackEvent {
  Fd fd;
  int signo = 0;

  ~State() {
    ev.reset();  // out of epoll before the descriptor closes
    fd.reset();
    if (signo == 0) return;
    BlockedSignals& b = blocked_signals();
    std::lock_guard lock(b.mu);
    if (--b.watches[signo] == 0 && !b.blocked_before[signo]) {
      sigset_t one;
      sigemptyset(&one);
      sigaddset(&one, signo);
      pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
    }
  }

  static void on_readable(evutil_socket_t fd, short, void* arg) noexcept {
    signalfd_siginfo info[8];
    bool caught = false;
    while (::read(fd, info, sizeof info) > 0) caught = true;  // several sends of one signal run it once
    if (caught) on_event(fd, EV_SIGNAL, arg);
  }
};

SignalWatch::SignalWatch(Loop& loop, int signo, std::function<void()> cb)
    : state_(std::make_unique<State>()) {
  state_->impl = loop.impl_.get();
  state_->impl->live_watches++;
  state_->cb = std::move(cb);
  if (signo <= 0 || signo >= NSIG) log::fatal("no such signal: %d", signo);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, signo);
  {
    BlockedSignals& b = blocked_signals();
    std::lock_guard lock(b.mu);
    if (b.watches[signo]++ == 0) {
      sigset_t before;
      if (pthread_sigmask(SIG_BLOCK, &one, &before) != 0) log::fatal("cannot block signal %d", signo);
      b.blocked_before[signo] = sigismember(&before, signo) == 1;
    }
  }
  state_->signo = signo;  // from here the destructor undoes the count
  state_->fd = Fd(::signalfd(-1, &one, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!state_->fd) log::fatal("signalfd for signal %d: %s", signo, std::strerror(errno));
  state_->ev.reset(event_new(loop.base(), state_->fd.get(), EV_READ | EV_PERSIST, &State::on_readable, state_.get()));
  if (!state_->ev || event_priority_set(state_->ev.get(), 0) != 0 || event_add(state_->ev.get(), nullptr) != 0) {
    log::fatal("libevent: cannot watch signal %d", signo);
  }
}
#else
struct SignalWatch::State : CallbackEvent {};

SignalWatch::SignalWatch(Loop& loop, int signo, std::function<void()> cb)
    : state_(std::make_unique<State>()) {
  state_->impl = loop.impl_.get();
  state_->impl->live_watches++;
  state_->cb = std::move(cb);
  state_->ev.reset(evsignal_new(loop.base(), signo, &State::on_event, state_.get()));
  if (!state_->ev || event_priority_set(state_->ev.get(), 0) != 0 || evsignal_add(state_->ev.get(), nullptr) != 0) {
    log::fatal("libevent: cannot watch signal %d", signo);
  }
}
#endif

SignalWatch::SignalWatch() noexcept = default;
SignalWatch::SignalWatch(SignalWatch&&) noexcept = default;
SignalWatch& SignalWatch::operator=(SignalWatch&&) noexcept = default;
SignalWatch::~SignalWatch() = default;

}  // namespace tern::event
