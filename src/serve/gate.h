#pragma once
// A bounded queue in front of the analyses: at most `workers` run at once, at most `queue` wait;
// a request beyond that is refused at once (503) instead of piling up threads and memory.
#include <condition_variable>
#include <mutex>

namespace attend::serve::detail {

class Gate {
 public:
  Gate(int workers, int queue) : workers_(workers), queue_(queue) {}
  // Waits for a free worker slot; false (without waiting) when the queue is full.
  bool enter() {
    std::unique_lock<std::mutex> lock(m_);
    if (running_ >= workers_ && waiting_ >= queue_) return false;
    ++waiting_;
    cv_.wait(lock, [&] { return running_ < workers_; });
    --waiting_;
    ++running_;
    return true;
  }
  void leave() {
    {
      std::lock_guard<std::mutex> lock(m_);
      --running_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int workers_, queue_, running_ = 0, waiting_ = 0;
};

// Holds a slot for one analysis (ok() false: the queue was full).
class Ticket {
 public:
  explicit Ticket(Gate& g) : g_(g), ok_(g.enter()) {}
  ~Ticket() {
    if (ok_) g_.leave();
  }
  Ticket(const Ticket&) = delete;
  Ticket& operator=(const Ticket&) = delete;
  bool ok() const { return ok_; }

 private:
  Gate& g_;
  bool ok_;
};

}  // namespace attend::serve::detail
