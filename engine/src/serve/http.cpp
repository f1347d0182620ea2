// Boost.Beast sessions: one HttpSession per connection reading requests with bounded
// parsers and deadlines; /events turns the connection into an SseSession that only writes.
#include "http.hpp"

#include "wangge/error.hpp"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <iostream>
#include <latch>
#include <nlohmann/json.hpp>
#include <thread>

namespace wangge::serve {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

Response json_error(unsigned status, const std::string& message) {
    Response r;
    r.status = status;
    r.body = nlohmann::json{{"error", message}, {"status", status}}.dump();
    return r;
}

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::string> decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            const int hi = hex_value(s[i + 1]);
            const int lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0') return std::nullopt;
        out.push_back(c);
    }
    return out;
}

} // namespace

std::optional<std::pair<std::string, std::map<std::string, std::string>>>
parse_target(std::string_view target) {
    if (target.empty() || target[0] != '/') return std::nullopt;
    const auto q = target.find('?');
    auto path = decode(target.substr(0, q), false);
    if (!path) return std::nullopt;
    std::map<std::string, std::string> query;
    if (q != std::string_view::npos) {
        std::string_view rest = target.substr(q + 1);
        while (!rest.empty()) {
            const auto amp = rest.find('&');
            const auto part = rest.substr(0, amp);
            if (!part.empty()) {
                const auto eq = part.find('=');
                auto key = decode(part.substr(0, eq), true);
                auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                                          : decode(part.substr(eq + 1), true);
                if (!key || !value) return std::nullopt;
                query[*key] = *value;
            }
            if (amp == std::string_view::npos) break;
            rest = rest.substr(amp + 1);
        }
    }
    return std::pair{std::move(*path), std::move(query)};
}

// ---- EventHub --------------------------------------------------------------------------------

namespace {
std::shared_ptr<const std::string> frame(std::uint64_t id, const std::string& type,
                                         const std::string& data) {
    std::string f;
    if (id) f += "id: " + std::to_string(id) + "\n";
    f += "event: " + type + "\ndata: " + data + "\n\n";
    return std::make_shared<const std::string>(std::move(f));
}
} // namespace

std::uint64_t EventHub::publish(const std::string& type, const std::string& data) {
    std::vector<std::shared_ptr<Subscriber>> targets;
    std::shared_ptr<const std::string> f;
    std::uint64_t id = 0;
    {
        std::lock_guard lock(m_mutex);
        id = m_next++;
        f = frame(id, type, data);
        m_log.emplace_back(id, f);
        while (m_log.size() > m_capacity)
            m_log.pop_front();
        std::erase_if(m_subscribers, [&](const std::weak_ptr<Subscriber>& w) {
            auto s = w.lock();
            if (!s) return true; // gone
            targets.push_back(std::move(s));
            return false;
        });
        // Pushed under the lock so a subscriber never sees events out of order.
        for (auto& s : targets)
            s->push(f);
    }
    return id;
}

std::vector<std::shared_ptr<const std::string>>
EventHub::subscribe(std::weak_ptr<Subscriber> s, std::optional<std::uint64_t> last_id) {
    std::lock_guard lock(m_mutex);
    std::vector<std::shared_ptr<const std::string>> out;
    const std::uint64_t last = m_next - 1;
    nlohmann::json hello{{"last_id", last}};
    if (last_id) {
        const bool kept =
            *last_id <= last && (*last_id + 1 >= (m_log.empty() ? m_next : m_log.front().first));
        if (!kept) {
            // The client's events are gone (or came from another run): it must reload.
            out.push_back(frame(0, "reset", hello.dump()));
        } else {
            for (const auto& [id, f] : m_log)
                if (id > *last_id) out.push_back(f);
        }
    }
    out.insert(out.begin(), frame(0, "hello", hello.dump()));
    m_subscribers.push_back(std::move(s));
    return out;
}

std::uint64_t EventHub::last_id() const {
    std::lock_guard lock(m_mutex);
    return m_next - 1;
}

std::size_t EventHub::subscribers() const {
    std::lock_guard lock(m_mutex);
    std::size_t n = 0;
    for (const auto& w : m_subscribers)
        n += w.expired() ? 0 : 1;
    return n;
}

void EventHub::close_all() {
    std::vector<std::shared_ptr<Subscriber>> all;
    {
        std::lock_guard lock(m_mutex);
        for (auto& w : m_subscribers)
            if (auto s = w.lock()) all.push_back(std::move(s));
        m_subscribers.clear();
    }
    for (auto& s : all)
        s->close();
}

// ---- Sessions --------------------------------------------------------------------------------

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
    Impl(HttpLimits l, Handler& h, EventHub& e, int n)
        : limits(l), handler(h), hub(e), threads(std::max(1, n)), ioc(threads), pool(threads),
          draw_pool(threads), acceptor(ioc), signals(ioc) {}
    HttpLimits limits;
    Handler& handler;
    EventHub& hub;
    int threads;
    asio::io_context ioc;
    asio::thread_pool pool;      // data requests (SQLite)
    asio::thread_pool draw_pool; // map tiles (Mapnik)
    tcp::acceptor acceptor;
    asio::signal_set signals;
    std::atomic<bool> draining{false};
    std::atomic<std::size_t> connections{0};
    void accept();
};

namespace {

constexpr auto read_timeout = 30s;
constexpr auto write_timeout = 20s;
constexpr auto heartbeat = 15s;
constexpr std::size_t max_sse_queue = 256; // frames a slow stream may fall behind by

// Counts a connection for its lifetime.
struct ConnectionSlot {
    explicit ConnectionSlot(std::atomic<std::size_t>& c) : count(&c) { ++*count; }
    ~ConnectionSlot() {
        if (count) --*count;
    }
    ConnectionSlot(ConnectionSlot&& o) noexcept : count(std::exchange(o.count, nullptr)) {}
    ConnectionSlot(const ConnectionSlot&) = delete;
    ConnectionSlot& operator=(const ConnectionSlot&) = delete;
    ConnectionSlot& operator=(ConnectionSlot&&) = delete;
    std::atomic<std::size_t>* count;
};

class SseSession : public EventHub::Subscriber, public std::enable_shared_from_this<SseSession> {
  public:
    SseSession(beast::tcp_stream stream, std::shared_ptr<HttpServer::Impl> server,
               ConnectionSlot slot)
        : m_stream(std::move(stream)), m_server(std::move(server)), m_slot(std::move(slot)),
          m_timer(m_stream.get_executor()) {}

    void start(std::optional<std::uint64_t> last_id, bool keep_alive_hint) {
        (void)keep_alive_hint;
        auto self = shared_from_this();
        asio::dispatch(m_stream.get_executor(), [self, last_id] {
            self->enqueue(std::make_shared<const std::string>(
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
                "Cache-Control: no-cache\r\nConnection: keep-alive\r\n"
                "X-Accel-Buffering: no\r\n\r\nretry: 1000\n\n"));
            for (auto& f : self->m_server->hub.subscribe(self, last_id))
                self->enqueue(std::move(f));
            self->watch_close();
            self->tick();
        });
    }

    void push(std::shared_ptr<const std::string> frame) override {
        asio::post(m_stream.get_executor(),
                   [self = shared_from_this(), f = std::move(frame)] { self->enqueue(f); });
    }
    void close() override {
        asio::post(m_stream.get_executor(), [self = shared_from_this()] { self->shut(); });
    }

  private:
    void enqueue(std::shared_ptr<const std::string> f) {
        if (m_closed) return;
        if (m_queue.size() >= max_sse_queue) return shut(); // too slow: drop, it reconnects
        m_queue.push_back(std::move(f));
        if (m_queue.size() == 1) write_next();
    }
    void write_next() {
        m_stream.expires_after(write_timeout);
        asio::async_write(m_stream, asio::buffer(*m_queue.front()),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->shut();
                              self->m_queue.pop_front();
                              if (!self->m_queue.empty())
                                  self->write_next();
                              else
                                  self->m_stream.expires_never();
                          });
    }
    // A stream client sends nothing; a read finishing means it went away.
    void watch_close() {
        m_stream.socket().async_read_some(
            asio::buffer(m_sink), [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (ec) return self->shut();
                self->watch_close();
            });
    }
    void tick() {
        m_timer.expires_after(heartbeat);
        m_timer.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec || self->m_closed) return;
            self->enqueue(std::make_shared<const std::string>(": ping\n\n"));
            self->tick();
        });
    }
    void shut() {
        if (m_closed) return;
        m_closed = true;
        m_timer.cancel();
        beast::error_code ec;
        m_stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        m_stream.close();
    }

    beast::tcp_stream m_stream;
    std::shared_ptr<HttpServer::Impl> m_server;
    ConnectionSlot m_slot;
    asio::steady_timer m_timer;
    std::deque<std::shared_ptr<const std::string>> m_queue;
    std::array<char, 512> m_sink{};
    bool m_closed = false;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
  public:
    HttpSession(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server, ConnectionSlot slot)
        : m_stream(std::move(socket)), m_server(std::move(server)), m_slot(std::move(slot)) {}

    void run() {
        asio::dispatch(m_stream.get_executor(), [self = shared_from_this()] { self->read(); });
    }

  private:
    void read() {
        m_parser.emplace();
        m_parser->header_limit(static_cast<std::uint32_t>(m_server->limits.max_header_bytes));
        m_parser->body_limit(m_server->limits.max_body_bytes);
        m_stream.expires_after(read_timeout);
        http::async_read(
            m_stream, m_buffer, *m_parser,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
            ec == asio::error::eof)
            return close();
        if (ec == http::error::body_limit)
            return reply_and_close(
                json_error(413, "request body larger than " +
                                    std::to_string(m_server->limits.max_body_bytes) + " bytes"));
        if (ec == http::error::header_limit)
            return reply_and_close(
                json_error(431, "request header larger than " +
                                    std::to_string(m_server->limits.max_header_bytes) + " bytes"));
        if (ec) return reply_and_close(json_error(400, "malformed request: " + ec.message()));

        auto msg = m_parser->release();
        m_keep_alive = msg.keep_alive() && !m_server->draining;
        Request req;
        req.method = std::string(msg.method_string());
        const auto parsed =
            parse_target(std::string_view(msg.target().data(), msg.target().size()));
        if (!parsed) return reply_and_close(json_error(400, "malformed request target"));
        req.path = parsed->first;
        req.query = parsed->second;
        std::size_t fields = 0;
        for (const auto& f : msg) {
            ++fields;
            std::string name(f.name_string());
            for (auto& c : name)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            req.headers[name] = std::string(f.value());
        }
        if (fields > m_server->limits.max_header_fields)
            return reply_and_close(
                json_error(431, "more than " + std::to_string(m_server->limits.max_header_fields) +
                                    " header fields"));
        req.body = std::move(msg.body());
        m_head = msg.method() == http::verb::head;
        m_version = msg.version();

        if (req.path == "/events" && (req.method == "GET")) return to_event_stream(req);

        try {
            if (auto r = m_server->handler.fast(req)) return write(std::move(*r));
        } catch (const std::exception& e) {
            return write(json_error(500, e.what()));
        }
        // The rest may block: run it on a worker, answer on this connection's strand.
        auto& pool = m_server->handler.draws(req) ? m_server->draw_pool : m_server->pool;
        asio::post(pool, [self = shared_from_this(), req = std::move(req)] {
            Response r;
            try {
                r = self->m_server->handler.handle(req);
            } catch (const std::exception& e) {
                r = json_error(500, e.what());
            }
            asio::post(self->m_stream.get_executor(),
                       [self, r = std::move(r)]() mutable { self->write(std::move(r)); });
        });
    }

    void to_event_stream(const Request& req) {
        std::optional<std::uint64_t> last;
        auto text = req.header("last-event-id");
        if (text.empty()) text = req.param("lastEventId");
        if (!text.empty()) {
            std::uint64_t v = 0;
            const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
            last = (r.ec == std::errc() && r.ptr == text.data() + text.size())
                       ? std::optional<std::uint64_t>(v)
                       : std::optional<std::uint64_t>(~std::uint64_t{0}); // unknown: reset
        }
        m_stream.expires_never();
        auto sse = std::make_shared<SseSession>(std::move(m_stream), m_server, std::move(m_slot));
        sse->start(last, true);
    }

    template <class Message> void head_of(Message& res, const Response& r, std::size_t length) {
        res.version(m_version);
        res.result(r.status);
        res.set(http::field::server, "wangge");
        if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
        res.set("X-Content-Type-Options", "nosniff");
        for (auto& [k, v] : r.headers)
            res.set(k, v);
        res.keep_alive(m_keep_alive);
        res.content_length(length);
    }

    void write(Response r) {
        m_stream.expires_after(write_timeout);
        if (r.shared_body) {
            // A cached tile: the response points into the cache's bytes, which it keeps alive.
            using Shared = http::response<http::span_body<const char>>;
            auto res = std::make_shared<Shared>();
            head_of(*res, r, r.shared_body->size());
            if (!m_head) res->body() = {r.shared_body->data(), r.shared_body->size()};
            return send(std::move(res), std::move(r.shared_body));
        }
        auto res = std::make_shared<http::response<http::string_body>>();
        head_of(*res, r, r.body.size());
        if (!m_head) res->body() = std::move(r.body);
        send(std::move(res), nullptr);
    }

    template <class Message>
    void send(std::shared_ptr<Message> res, std::shared_ptr<const std::string> keep) {
        auto& msg = *res;
        http::async_write(m_stream, msg,
                          [self = shared_from_this(), res = std::move(res),
                           keep = std::move(keep)](beast::error_code ec, std::size_t) {
                              if (ec || !self->m_keep_alive || self->m_server->draining)
                                  return self->close();
                              self->read();
                          });
    }

    void reply_and_close(Response r) {
        m_keep_alive = false;
        write(std::move(r));
    }

    void close() {
        beast::error_code ec;
        m_stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        m_stream.close();
    }

    beast::tcp_stream m_stream;
    beast::flat_buffer m_buffer;
    std::optional<http::request_parser<http::string_body>> m_parser;
    std::shared_ptr<HttpServer::Impl> m_server;
    ConnectionSlot m_slot;
    bool m_keep_alive = false;
    bool m_head = false;
    unsigned m_version = 11;
};

} // namespace

void HttpServer::Impl::accept() {
    acceptor.async_accept(asio::make_strand(ioc), [self = shared_from_this()](beast::error_code ec,
                                                                              tcp::socket socket) {
        if (ec) {
            if (!self->acceptor.is_open()) return; // drained
            return self->accept();
        }
        if (self->connections.load() >= self->limits.max_connections) {
            // Over the limit: a short 503 and close, without a session.
            static const std::string busy =
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: "
                "close\r\n\r\n";
            beast::error_code ignored;
            socket.non_blocking(false, ignored);
            asio::write(socket, asio::buffer(busy), ignored);
            socket.close(ignored);
        } else {
            std::make_shared<HttpSession>(std::move(socket), self,
                                          ConnectionSlot(self->connections))
                ->run();
        }
        self->accept();
    });
}

HttpServer::HttpServer(const std::string& host, unsigned short port, HttpLimits limits,
                       Handler& handler, EventHub& hub, int threads)
    : m_impl(std::make_shared<Impl>(limits, handler, hub, threads)) {
    beast::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) throw InputError("--listen: '" + host + "' is not an IP address");
    const tcp::endpoint ep(address, port);
    auto& a = m_impl->acceptor;
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw InputError("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                         ec.message());
}

HttpServer::~HttpServer() = default;

unsigned short HttpServer::port() const {
    return m_impl->acceptor.local_endpoint().port();
}

void HttpServer::run(bool handle_signals) {
    auto impl = m_impl;
    if (handle_signals) {
        impl->signals.add(SIGTERM);
        impl->signals.add(SIGINT);
        impl->signals.async_wait([this](beast::error_code ec, int) {
            if (!ec) drain();
        });
    }
    // One warm-up task per worker, each held at the latch until all have started, so every
    // worker runs exactly one; queued before the first accept, so before any request.
    auto started = std::make_shared<std::latch>(impl->threads);
    for (int i = 0; i < impl->threads; ++i)
        asio::post(impl->draw_pool, [impl, started] {
            started->arrive_and_wait();
            try {
                impl->handler.warm();
            } catch (const std::exception& e) {
                std::cerr << "wangge serve: warm-up: " << e.what() << "\n";
            }
        });
    impl->accept();
    std::vector<std::thread> io;
    for (int i = 1; i < impl->threads; ++i)
        io.emplace_back([impl] { impl->ioc.run(); });
    impl->ioc.run();
    for (auto& t : io)
        t.join();
    impl->pool.join();
    impl->draw_pool.join();
}

void HttpServer::drain() {
    auto impl = m_impl;
    if (impl->draining.exchange(true)) return;
    asio::post(impl->ioc, [impl] {
        beast::error_code ec;
        impl->acceptor.close(ec);
        impl->signals.cancel(ec);
        impl->hub.close_all();
    });
    // Sessions still reading an idle keep-alive request end at their read deadline; do
    // not wait that long: give responses in flight a moment, then stop.
    std::thread([impl] {
        for (int i = 0; i < 50 && impl->connections.load() > 0; ++i)
            std::this_thread::sleep_for(20ms);
        impl->ioc.stop();
    }).detach();
}

} // namespace wangge::serve
