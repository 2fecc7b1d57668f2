// A few threads that check passwords against their hashes, away from the event loops: one
// bcrypt costs tens of milliseconds of CPU, which on a loop would stall every connection it
// serves. Jobs wait in a bounded queue; a full queue is refused at once (the caller answers
// 503), so an attacker cannot pile up unbounded work or memory. The same password for the same
// hash, asked again while its check is queued or running, joins that check: a browser's burst
// of simultaneous requests costs one bcrypt.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cgihost {

struct PasswordVerdict {
    bool matched = false;
    double seconds = 0;   // CPU-bound time the check took, for the log
    bool shared = false;  // this request joined a check asked for by an earlier one
};

class PasswordVerifier {
  public:
    // Runs on a verifier thread once the password is checked; must be quick and thread-safe
    // (post the verdict to the requester's loop and return).
    using Done = std::function<void(PasswordVerdict)>;

    PasswordVerifier(unsigned threads, size_t queue_capacity);
    ~PasswordVerifier();  // finishes the job in hand, drops queued ones, joins
    PasswordVerifier(const PasswordVerifier&) = delete;
    PasswordVerifier& operator=(const PasswordVerifier&) = delete;

    // Queues a check, or joins the same one under way; false when the queue is full. The
    // threads start at the first call, so none exists before the server has dropped its
    // privileges.
    bool submit(std::string password, std::string hash, Done done);
    // Checks started so far, for the tests' view through the log.
    uint64_t verifications() const;

  private:
    struct Job {
        std::string password;
        std::string hash;
        std::vector<Done> done;  // the first asker's, then those who joined
    };
    void run();

    unsigned thread_count_;
    size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Job>> queue_;
    // Queued or running checks by (hash, password), for joining.
    std::map<std::pair<std::string, std::string>, std::shared_ptr<Job>> under_way_;
    std::vector<std::thread> threads_;
    bool stopping_ = false;
    uint64_t verifications_ = 0;
};

}  // namespace cgihost
