// cxx.cpp — C++ runtime: static constructors, exceptions and unwinding
// (DWARF CFI, personality routines, landing pads), RTTI, virtual dispatch,
// the standard containers and algorithms, iostreams, std::function, smart
// pointers, std::thread/mutex/atomic and <regex>. No floating point.
// Exit status: number of failed checks.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <iomanip>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>
#include <unordered_map>
#include <variant>
#include <vector>

static int failures;
#define CHECK(c)                                                                         \
    do {                                                                                 \
        if (!(c)) {                                                                      \
            std::cout << "CHECK FAILED line " << __LINE__ << ": " #c "\n";             \
            failures++;                                                                  \
        }                                                                                \
    } while (0)

// ---- static initialisation -------------------------------------------------
static std::vector<std::string> init_log;
struct Registrar {
    explicit Registrar(const char *n) { init_log.push_back(n); }
};
static Registrar r1("first"), r2("second");
static const std::map<std::string, int> table = {{"one", 1}, {"two", 2}, {"three", 3}};

// ---- exceptions ------------------------------------------------------------
static std::vector<std::string> dtor_log;
struct Guard {
    std::string name;
    explicit Guard(std::string n) : name(std::move(n)) {}
    ~Guard() { dtor_log.push_back(name); }
};

struct MyError : std::runtime_error {
    int code;
    MyError(const std::string &w, int c) : std::runtime_error(w), code(c) {}
};

static __attribute__((noinline)) int level3(int x)
{
    Guard g("level3");
    if (x > 2)
        throw MyError("too big: " + std::to_string(x), x);
    return x * 10;
}
static __attribute__((noinline)) int level2(int x)
{
    Guard g("level2");
    std::vector<int> v(100, x); // heap object destroyed during unwinding
    return level3(x) + v[0];
}
static __attribute__((noinline)) int level1(int x)
{
    Guard g("level1");
    try {
        return level2(x);
    } catch (const std::logic_error &) {
        return -1; // not taken: wrong type
    }
}

static void test_exceptions()
{
    std::cout << "level1(1)=" << level1(1) << "\n";
    try {
        level1(5);
        std::cout << "not reached\n";
    } catch (const MyError &e) {
        std::cout << "caught MyError: " << e.what() << " code=" << e.code << "\n";
    }
    std::cout << "unwound:";
    for (auto &s : dtor_log)
        std::cout << " " << s;
    std::cout << "\n";
    CHECK(dtor_log.size() == 6);

    // catch by base, rethrow, nested
    int stage = 0;
    try {
        try {
            throw std::out_of_range("inner");
        } catch (const std::exception &e) {
            stage = 1;
            std::cout << "base catch: " << e.what() << " typeid=" << typeid(e).name() << "\n";
            throw;
        }
    } catch (const std::out_of_range &e) {
        stage = 2;
        std::cout << "rethrown as out_of_range: " << e.what() << "\n";
    }
    CHECK(stage == 2);
    try {
        try {
            throw 42;
        } catch (int v) {
            std::throw_with_nested(std::runtime_error("outer " + std::to_string(v)));
        }
    } catch (const std::runtime_error &e) {
        std::cout << "nested outer: " << e.what();
        try {
            std::rethrow_if_nested(e);
        } catch (int v) {
            std::cout << ", inner int " << v << "\n";
        }
    }
    // library-thrown exceptions
    try {
        std::vector<int> v(3);
        (void)v.at(10);
    } catch (const std::out_of_range &) {
        std::cout << "vector::at threw out_of_range\n";
    }
    try {
        (void)std::stoi("not a number");
    } catch (const std::invalid_argument &) {
        std::cout << "stoi threw invalid_argument\n";
    }
    try {
        (void)std::stoi("99999999999999999999");
    } catch (const std::out_of_range &) {
        std::cout << "stoi threw out_of_range\n";
    }
    std::exception_ptr ep;
    try {
        throw MyError("stored", 7);
    } catch (...) {
        ep = std::current_exception();
    }
    try {
        std::rethrow_exception(ep);
    } catch (const MyError &e) {
        std::cout << "exception_ptr rethrow: " << e.what() << " " << e.code << "\n";
    }
    // many throws in a loop (unwinder caches)
    int caught = 0;
    for (int i = 0; i < 2000; i++) {
        try {
            level3(3 + i % 5);
        } catch (const MyError &e) {
            caught += e.code;
        }
    }
    std::cout << "loop throws caught sum=" << caught << "\n";
}

// ---- classes, virtuals, RTTI -----------------------------------------------
struct Shape {
    virtual ~Shape() = default;
    virtual long area() const = 0;
    virtual std::string name() const { return "shape"; }
};
struct Rect : Shape {
    long w, h;
    Rect(long w_, long h_) : w(w_), h(h_) {}
    long area() const override { return w * h; }
    std::string name() const override { return "rect"; }
};
struct Square final : Rect {
    explicit Square(long s) : Rect(s, s) {}
    std::string name() const override { return "square"; }
};
struct Tri : Shape {
    long b, h;
    Tri(long b_, long h_) : b(b_), h(h_) {}
    long area() const override { return b * h / 2; }
};
struct VBase {
    int v = 1;
    virtual ~VBase() = default;
};
struct VLeft : virtual VBase { int l = 2; };
struct VRight : virtual VBase { int r = 3; };
struct Diamond : VLeft, VRight { int d = 4; };

static void test_classes()
{
    std::vector<std::unique_ptr<Shape>> shapes;
    shapes.push_back(std::make_unique<Rect>(3, 4));
    shapes.push_back(std::make_unique<Square>(5));
    shapes.push_back(std::make_unique<Tri>(6, 7));
    long total = 0;
    for (auto &s : shapes) {
        total += s->area();
        std::cout << s->name() << " area=" << s->area() << " is-rect=" << (dynamic_cast<Rect *>(s.get()) != nullptr)
                  << " typeid=" << typeid(*s).name() << "\n";
    }
    std::cout << "total area=" << total << "\n";
    Diamond dm;
    VBase *vb = &dm;
    Diamond *back = dynamic_cast<Diamond *>(vb);
    std::cout << "diamond: v=" << dm.v << " via base ok=" << (back == &dm)
              << " cross-cast ok=" << (dynamic_cast<VRight *>(static_cast<VLeft *>(&dm)) != nullptr) << "\n";
    auto sp = std::make_shared<Square>(2);
    std::shared_ptr<Shape> sp2 = sp;
    std::weak_ptr<Shape> wp = sp2;
    std::cout << "shared_ptr use_count=" << sp.use_count() << " weak expired=" << wp.expired();
    sp.reset();
    sp2.reset();
    std::cout << " after reset expired=" << wp.expired() << "\n";
}

// ---- containers & algorithms ----------------------------------------------
static void test_containers()
{
    std::vector<int> v;
    uint32_t x = 12345;
    for (int i = 0; i < 1000; i++) {
        x = x * 1103515245u + 12345u;
        v.push_back(static_cast<int>(x >> 8) % 10000 - 5000);
    }
    std::vector<int> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    std::stable_sort(v.begin(), v.end(), [](int a, int b) { return (a % 7 + 7) % 7 < (b % 7 + 7) % 7; });
    long long sum = std::accumulate(sorted.begin(), sorted.end(), 0LL);
    auto mm = std::minmax_element(sorted.begin(), sorted.end());
    std::cout << "sorted: front=" << sorted.front() << " back=" << sorted.back() << " sum=" << sum
              << " min=" << *mm.first << " max=" << *mm.second << " v[0..3]=" << v[0] << "," << v[1]
              << "," << v[2] << "," << v[3] << "\n";
    CHECK(std::is_sorted(sorted.begin(), sorted.end()));
    auto it = std::lower_bound(sorted.begin(), sorted.end(), 0);
    std::cout << "first >= 0 at index " << (it - sorted.begin()) << "\n";

    std::map<std::string, int> counts;
    std::unordered_map<std::string, int> ucounts;
    std::string text = "the quick brown fox jumps over the lazy dog the end fox";
    std::istringstream iss(text);
    for (std::string w; iss >> w;) {
        counts[w]++;
        ucounts[w] += 2;
    }
    std::cout << "map:";
    for (auto &kv : counts)
        std::cout << " " << kv.first << "=" << kv.second;
    std::cout << "\n";
    std::vector<std::pair<std::string, int>> uv(ucounts.begin(), ucounts.end());
    std::sort(uv.begin(), uv.end()); // unordered iteration order is not portable
    std::cout << "unordered (sorted):";
    for (auto &kv : uv)
        std::cout << " " << kv.first << "=" << kv.second;
    std::cout << "\n";

    std::set<int> s(v.begin(), v.end());
    std::deque<int> dq;
    for (int i = 0; i < 10; i++) {
        dq.push_front(i);
        dq.push_back(-i);
    }
    std::list<std::string> lst = {"delta", "alpha", "charlie", "bravo"};
    lst.sort();
    std::array<int, 5> arr = {5, 3, 1, 4, 2};
    std::reverse(arr.begin(), arr.end());
    std::cout << "set size=" << s.size() << " deque front/back=" << dq.front() << "/" << dq.back()
              << " list=" << lst.front() << ".." << lst.back() << " array=" << arr[0] << arr[1] << arr[2]
              << arr[3] << arr[4] << "\n";

    std::string str = "Hello, World";
    str += "!";
    str.insert(0, ">> ");
    std::string up = str;
    std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    std::cout << "string: [" << str << "] upper=[" << up << "] find(World)=" << str.find("World")
              << " substr=[" << str.substr(3, 5) << "] npos=" << (str.find("xyz") == std::string::npos) << "\n";
    std::string big(100000, 'x');
    big.replace(50000, 1, "needle");
    std::cout << "big find=" << big.find("needle") << " size=" << big.size() << "\n";

    std::optional<int> o;
    std::variant<int, std::string> var = std::string("variant-string");
    std::cout << "optional has=" << o.has_value() << " value_or=" << o.value_or(-1)
              << " variant index=" << var.index() << " " << std::get<std::string>(var) << "\n";
    try {
        (void)std::get<int>(var);
    } catch (const std::bad_variant_access &) {
        std::cout << "bad_variant_access thrown\n";
    }
}

// ---- iostream formatting ---------------------------------------------------
static void test_iostream()
{
    std::ostringstream os;
    os << std::setw(8) << std::setfill('0') << 42 << "|" << std::hex << 255 << "|" << std::uppercase << 48879
       << std::dec << std::nouppercase << "|" << std::oct << 8 << std::dec << "|" << std::left << std::setw(6)
       << std::setfill('.') << "ab" << "|" << std::right << std::setw(6) << -17 << "|" << std::showbase << std::hex
       << 16 << std::dec << "|" << std::boolalpha << true << "|" << static_cast<int64_t>(INT64_MIN);
    std::cout << "ostringstream: " << os.str() << "\n";
    std::istringstream is("123 0x1f abc 077");
    int a, b, d;
    std::string w;
    is >> a >> std::hex >> b >> w >> std::oct >> d;
    std::cout << "istringstream: " << a << " " << b << " " << w << " " << d << "\n";
    std::cout << "char types: " << static_cast<int>(static_cast<signed char>(-5)) << " "
              << static_cast<int>(static_cast<unsigned char>(250)) << "\n";
}

// ---- functional ------------------------------------------------------------
static void test_functional()
{
    std::vector<std::function<long(long)>> fs;
    long captured = 3;
    fs.push_back([](long v) { return v + 1; });
    fs.push_back([captured](long v) { return v * captured; });
    fs.push_back([&captured](long v) { return v - captured; });
    fs.push_back(std::bind(std::multiplies<long>(), std::placeholders::_1, 10));
    long v = 7;
    for (auto &f : fs)
        v = f(v);
    captured = 100;
    std::cout << "function chain=" << v << " captured-by-ref now=" << fs[2](0) << "\n";
    std::function<long(int)> fact = [&](int n) -> long { return n <= 1 ? 1 : n * fact(n - 1); };
    std::cout << "recursive lambda 20!=" << fact(20) << "\n";
}

// ---- threads ---------------------------------------------------------------
static void test_threads()
{
    std::mutex m;
    long shared = 0;
    std::atomic<long> at{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; t++)
        ts.emplace_back([&, t] {
            for (int i = 0; i < 10000; i++) {
                std::lock_guard<std::mutex> lk(m);
                shared += t + 1;
            }
            for (int i = 0; i < 10000; i++)
                at.fetch_add(1, std::memory_order_relaxed);
            try {
                throw MyError("in thread", t);
            } catch (const MyError &e) {
                at.fetch_add(e.code * 1000000, std::memory_order_relaxed);
            }
        });
    for (auto &t : ts)
        t.join();
    std::cout << "threads: shared=" << shared << " atomic=" << at.load() << "\n";
    CHECK(shared == 100000);
}

// ---- regex -----------------------------------------------------------------
static void test_regex()
{
    std::regex re(R"((\w+)@(\w+)\.(com|org))");
    std::string s = "mail alice@example.com and bob@test.org, not carol@bad.net";
    std::cout << "regex matches:";
    for (std::sregex_iterator it(s.begin(), s.end(), re), end; it != end; ++it)
        std::cout << " [" << (*it)[1] << " at " << (*it)[2] << "/" << (*it)[3] << "]";
    std::cout << "\n";
    std::cout << "regex_replace: " << std::regex_replace(std::string("a1b22c333"), std::regex("[0-9]+"), "#")
              << "\n";
}

int main()
{
    std::cout << "static init:";
    for (auto &s : init_log)
        std::cout << " " << s;
    std::cout << " table[two]=" << table.at("two") << "\n";
    test_exceptions();
    test_classes();
    test_containers();
    test_iostream();
    test_functional();
    test_threads();
    test_regex();
    std::cout << "cxx: " << (failures ? "FAIL" : "ok") << " (" << failures << " failures)" << std::endl;
    return failures;
}
