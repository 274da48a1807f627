// A small fixed-size thread pool for CPU work that can be split (embedding several crops,
// evaluating sessions). Submit returns a std::future; the destructor finishes queued work.
#pragma once

#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/bounded_queue.h"

namespace cartsense {

class ThreadPool {
 public:
  // `threads` >= 1; `queue_capacity` bounds pending tasks (Submit blocks when full).
  explicit ThreadPool(std::size_t threads, std::size_t queue_capacity = 1024);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  template <typename F>
  auto Submit(F&& task) -> std::future<std::invoke_result_t<F>> {
    using R = std::invoke_result_t<F>;
    auto packaged = std::make_shared<std::packaged_task<R()>>(std::forward<F>(task));
    std::future<R> future = packaged->get_future();
    if (!tasks_.Push([packaged] { (*packaged)(); })) {
      // Pool shut down: run inline so the future is never left without a value.
      (*packaged)();
    }
    return future;
  }

  // Runs body(i) for i in [0, count) over the pool and waits for all of them.
  void ParallelFor(std::size_t count, const std::function<void(std::size_t)>& body);

  std::size_t size() const { return workers_.size(); }

 private:
  BoundedQueue<std::function<void()>> tasks_;
  std::vector<std::thread> workers_;
};

}  // namespace cartsense
