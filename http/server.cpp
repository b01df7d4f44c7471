#include "durable/http_server.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>

#include <sys/resource.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "admin.hpp"
#include "connection.hpp"
#include "durable/deployment.hpp"
#include "durable/errc.hpp"
#include "metrics.hpp"
#include "routing.hpp"
#include "websocket_session.hpp"

namespace durable::http {

using boost::system::error_code;

namespace {

/// The live entries of a worker's `conns` or `sockets`.
template <class T>
std::vector<std::shared_ptr<T>>
live(const std::unordered_map<T*, std::weak_ptr<T>>& xs) {
  std::vector<std::shared_ptr<T>> result;
  result.reserve(xs.size());
  for (auto& entry : xs)
    if (auto x = entry.second.lock())
      result.push_back(std::move(x));
  return result;
}

std::vector<std::shared_ptr<connection>> snapshot(worker& w) {
  return live(w.conns);
}

std::vector<std::shared_ptr<websocket_session>> sockets_of(worker& w) {
  return live(w.sockets);
}

/// Below the descriptor limit by a reserve for LMDB, logs, the refusal
/// slots and the application's own files, and at most 10 000.
size_t default_max_connections() {
  constexpr rlim_t reserve = 256;
  constexpr rlim_t most = 10'000;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY)
    return most;
  if (lim.rlim_cur <= reserve + 16)
    return 16;
  return static_cast<size_t>(std::min(lim.rlim_cur - reserve, most));
}

} // namespace

// -- impl ---------------------------------------------------------------------

struct server::impl {
  enum class phase { idle, running, stopped };

  impl(caf::actor_system& sys, server_options opts) : st(sys, std::move(opts)) {
    // nop
  }

  void do_accept();

  void arm_sweep(worker& w);

  caf::timespan sweep_interval() const {
    using namespace std::chrono;
    auto shortest = std::min(st.opts.read_timeout, st.opts.request_timeout);
    return std::clamp<caf::timespan>(shortest / 4, milliseconds{10},
                                     seconds{1});
  }

  // Destroyed in reverse order: the acceptor and its timer before the
  // workers' event loops, the shared state last.
  server_state st;
  std::vector<std::unique_ptr<worker>> workers;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> accept_timer;
  uint16_t port = 0;
  phase state = phase::idle;
  size_t next_worker = 0; // only on the acceptor's thread
};

void server::impl::do_accept() {
  auto& target = *workers[next_worker++ % workers.size()];
  // Accepted straight onto the event loop of the worker that will own it.
  auto socket = std::make_shared<socket_type>(target.ioc);
  acceptor->async_accept(*socket, [this, &target, socket](error_code ec) {
    if (ec == net::error::operation_aborted || !acceptor->is_open())
      return;
    if (ec) {
      // Out of descriptors, say: back off instead of spinning.
      accept_timer->expires_after(std::chrono::milliseconds{50});
      accept_timer->async_wait([this](error_code ec) {
        if (!ec && acceptor->is_open())
          do_accept();
      });
      return;
    }
    // Counted here, not on the worker, so that a burst of accepts cannot
    // overshoot the cap before the workers catch up.
    auto refused = false;
    if (++st.connections > st.opts.max_connections) {
      --st.connections;
      if (++st.refusing > server_state::refusal_slots) {
        // Refusing too: close at once, the client sees the connection end.
        --st.refusing;
        error_code ignored;
        socket->close(ignored);
        do_accept();
        return;
      }
      refused = true;
    }
    auto conn =
        std::make_shared<connection>(st, target, std::move(*socket), refused);
    net::post(target.ioc, [conn] { conn->start(); });
    do_accept();
  });
}

void server::impl::arm_sweep(worker& w) {
  w.sweep_timer.expires_after(sweep_interval());
  w.sweep_timer.async_wait([this, &w](error_code ec) {
    if (ec || w.stopping)
      return;
    auto now = clock_type::now();
    std::vector<std::shared_ptr<connection>> expired;
    for (auto i = w.conns.begin(); i != w.conns.end();) {
      auto conn = i->second.lock();
      if (!conn) {
        i = w.conns.erase(i);
        continue;
      }
      conn->expire_requests(now);
      if (conn->timed_out(now))
        expired.push_back(std::move(conn));
      ++i;
    }
    // Closing erases from `conns`: not while iterating it.
    for (auto& conn : expired)
      conn->close();
    arm_sweep(w);
  });
}

// -- server -------------------------------------------------------------------

server::server(caf::actor_system& sys, server_options opts)
    : impl_(std::make_unique<impl>(sys, std::move(opts))) {
  // nop
}

server::~server() {
  stop();
}

caf::error server::bind_impl(std::string segment,
                             std::shared_ptr<detail::binding> target) {
  auto& d = *impl_;
  if (d.state != impl::phase::idle)
    return make_error(errc::invalid_argument,
                      "durable::http::server: bind after start");
  if (!valid_binding_name(segment)) {
    std::string text = "invalid binding name ";
    append_json_string(text, segment);
    return make_error(errc::invalid_argument, std::move(text));
  }
  if (d.st.bindings.count(segment) > 0 ||
      (d.st.registry != nullptr && segment == admin_segment) ||
      (d.st.metrics && segment == metrics_segment)) {
    std::string text = "binding already taken: ";
    append_json_string(text, segment);
    return make_error(errc::invalid_argument, std::move(text));
  }
  d.st.bindings.emplace(std::move(segment), std::move(target));
  return caf::none;
}

caf::error server::serve_admin(const namespace_registry& registry) {
  auto& d = *impl_;
  if (d.state != impl::phase::idle)
    return make_error(errc::invalid_argument,
                      "durable::http::server: serve_admin after start");
  if (d.st.bindings.count(admin_segment) > 0)
    return make_error(errc::invalid_argument,
                      "binding already taken: \"admin\" (the admin routes "
                      "need it)");
  d.st.registry = &registry;
  return caf::none;
}

caf::error server::serve_admin_view(std::string name,
                                    std::function<fetch_response()> view) {
  auto& d = *impl_;
  if (d.state != impl::phase::idle)
    return make_error(errc::invalid_argument,
                      "durable::http::server: serve_admin_view after start");
  if (d.st.registry == nullptr)
    return make_error(errc::invalid_argument,
                      "serve_admin_view needs serve_admin first");
  if (!valid_binding_name(name) || name == "namespaces" ||
      d.st.views.count(name) > 0)
    return make_error(errc::invalid_argument,
                      "invalid or taken admin view name: " + name);
  d.st.views.emplace(std::move(name), std::move(view));
  return caf::none;
}

caf::error server::serve_metrics(std::function<void(metrics_text&)> source) {
  auto& d = *impl_;
  if (d.state != impl::phase::idle)
    return make_error(errc::invalid_argument,
                      "durable::http::server: serve_metrics after start");
  if (!source)
    return make_error(errc::invalid_argument,
                      "serve_metrics needs a source of metrics");
  if (d.st.bindings.count(metrics_segment) > 0)
    return make_error(errc::invalid_argument,
                      "binding already taken: \"metrics\" (the metrics "
                      "route needs it)");
  d.st.metrics = std::move(source);
  return caf::none;
}

caf::error server::serve_metrics(const deployment& dep) {
  return serve_metrics([&dep](metrics_text& out) { dep.write_metrics(out); });
}

caf::error server::start() {
  auto& d = *impl_;
  auto& opts = d.st.opts;
  if (d.state != impl::phase::idle)
    return make_error(errc::invalid_argument,
                      "durable::http::server: started twice");
  if (opts.threads == 0 || opts.max_pipelined == 0)
    return make_error(errc::invalid_argument,
                      "durable::http::server: threads and max_pipelined "
                      "must be at least 1");
  if (opts.max_connections == 0)
    opts.max_connections = default_max_connections();
  error_code ec;
  auto addr = net::ip::make_address(opts.address, ec);
  if (ec)
    return make_error(errc::invalid_argument,
                      "invalid listen address: " + opts.address);
  for (size_t i = 0; i < opts.threads; ++i) {
    d.workers.emplace_back(std::make_unique<worker>());
    d.workers.back()->loop = std::make_shared<loop_ref>(d.workers.back()->ioc);
  }
  auto& first = *d.workers.front();
  tcp::endpoint endpoint{addr, opts.port};
  d.acceptor.emplace(first.ioc);
  d.acceptor->open(endpoint.protocol(), ec);
  if (!ec)
    d.acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec)
    d.acceptor->bind(endpoint, ec);
  if (!ec)
    d.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    d.acceptor.reset();
    d.workers.clear();
    return make_error(errc::unavailable, "cannot listen on " + opts.address +
                                             ":" + std::to_string(opts.port) +
                                             ": " + ec.message());
  }
  d.port = d.acceptor->local_endpoint().port();
  d.accept_timer.emplace(first.ioc);
  d.do_accept();
  for (auto& w : d.workers) {
    w->connect(d.st.sys);
    d.arm_sweep(*w);
    w->guard.emplace(w->ioc.get_executor());
    w->thread = std::thread{[w = w.get()] {
      for (;;) {
        try {
          w->ioc.run();
          break;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "durable::http: I/O thread caught: %s\n",
                       e.what());
        }
      }
      w->done = true;
    }};
  }
  d.state = impl::phase::running;
  return caf::none;
}

void server::stop() {
  auto& d = *impl_;
  if (d.state != impl::phase::running) {
    d.state = impl::phase::stopped;
    return;
  }
  d.state = impl::phase::stopped;
  using namespace std::chrono;
  // 1. Stop accepting; idle connections close, busy ones finish what they
  //    have and close.
  std::atomic<size_t> draining{0};
  for (auto& w : d.workers)
    net::post(w->ioc, [&d, &draining, w = w.get()] {
      w->draining = true;
      if (w == d.workers.front().get()) {
        error_code ignored;
        d.acceptor->close(ignored);
        d.accept_timer->cancel();
      }
      for (auto& conn : snapshot(*w))
        conn->drain();
      // 1001 to every WebSocket; each closes within half a second.
      for (auto& s : sockets_of(*w))
        s->go_away();
      ++draining;
    });
  // 2. Give objects time to answer what they already have. Counting starts
  //    once no loop can hand out new requests any more.
  auto deadline = steady_clock::now() + d.st.opts.shutdown_timeout;
  auto busy = [&] { return draining < d.workers.size() || d.st.in_flight > 0; };
  while (busy() && steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds{1});
  // 3. Disconnect the companions: after this, nothing from CAF reaches the
  //    event loops (late replies go nowhere).
  for (auto& w : d.workers)
    w->disconnect();
  // 4. Close what is not writing its last responses; those close when done.
  for (auto& w : d.workers)
    net::post(w->ioc, [w = w.get()] {
      w->stopping = true;
      w->sweep_timer.cancel();
      for (auto& conn : snapshot(*w))
        conn->stop_now();
    });
  // 5. Let the loops run dry, forcing them after a short grace.
  for (auto& w : d.workers)
    w->guard.reset();
  auto grace = steady_clock::now() + seconds{1};
  auto all_done = [&] {
    return std::all_of(d.workers.begin(), d.workers.end(),
                       [](auto& w) { return w->done.load(); });
  };
  while (!all_done() && steady_clock::now() < grace)
    std::this_thread::sleep_for(milliseconds{1});
  for (auto& w : d.workers) {
    w->ioc.stop();
    if (w->thread.joinable())
      w->thread.join();
    // Connections still writing when the grace ran out own their exchanges,
    // which own them back: with the loop gone, close them from here.
    for (auto& conn : snapshot(*w))
      conn->close();
    for (auto& s : sockets_of(*w))
      s->kill();
    w->waiting.clear();
    w->ws_waiting.clear();
    // Objects may still hold endpoints: their sends go nowhere now, and
    // what belongs to this loop goes before the loop does.
    w->loop->reset();
    for (auto& weak : w->all_sockets)
      if (auto s = weak.lock())
        s->release_io();
    w->all_sockets.clear();
  }
}

uint16_t server::port() const noexcept {
  return impl_->port;
}

const server_options& server::options() const noexcept {
  return impl_->st.opts;
}

size_t server::connections() const noexcept {
  return impl_->st.connections;
}

size_t server::pending_requests() const noexcept {
  return impl_->st.in_flight;
}

size_t server::websockets() const noexcept {
  return impl_->st.websockets;
}

size_t server::websocket_queued_bytes() const noexcept {
  return impl_->st.websocket_queued;
}

} // namespace durable::http
