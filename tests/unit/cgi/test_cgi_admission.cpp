// CgiAdmission: script slots, the per-client cap and the FIFO wait queue, with no sockets.
#include "cgi/cgi_admission.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace cgihost {
namespace {

using Decision = CgiAdmission::Decision;

// Admits requests and remembers, in order, which queued ones were handed a slot.
struct Harness {
    explicit Harness(CgiAdmissionLimits limits) : admission(limits) {}

    Decision admit(const std::string& client, const std::string& name = "") {
        CgiAdmission::Ticket ticket = 0;
        Decision decision = admission.admit(
            client, [this, name] { woken.push_back(name); }, ticket);
        if (decision == Decision::queued) tickets[name] = ticket;
        return decision;
    }

    CgiAdmission admission;
    std::vector<std::string> woken;
    std::map<std::string, CgiAdmission::Ticket> tickets;
};

struct AdmitCase {
    const char* what;
    CgiAdmissionLimits limits;
    std::vector<std::string> clients;  // admitted in this order, none released
    std::vector<Decision> expected;
};

TEST(CgiAdmission, DecidesEachArrivalByTheSlotsTheCapAndTheQueue) {
    const std::vector<AdmitCase> cases = {
        {"slots, then the queue, then refusal",
         {2, 0, 2},
         {"a", "b", "c", "d", "e"},
         {Decision::run, Decision::run, Decision::queued, Decision::queued, Decision::queue_full}},
        {"no queue: refused at the global cap at once (the old behaviour)",
         {2, 0, 0},
         {"a", "b", "c"},
         {Decision::run, Decision::run, Decision::queue_full}},
        {"the cap refuses a third script of one address, not another address",
         {10, 2, 10},
         {"a", "a", "a", "b"},
         {Decision::run, Decision::run, Decision::client_over_cap, Decision::run}},
        {"queued requests count against the cap too",
         {1, 2, 10},
         {"a", "a", "a", "b"},
         {Decision::run, Decision::queued, Decision::client_over_cap, Decision::queued}},
        {"a cap of 0 means none",
         {3, 0, 0},
         {"a", "a", "a", "a"},
         {Decision::run, Decision::run, Decision::run, Decision::queue_full}},
        {"the cap is checked before the queue is",
         {1, 1, 0},
         {"a", "a", "b"},
         {Decision::run, Decision::client_over_cap, Decision::queue_full}},
    };
    for (const AdmitCase& c : cases) {
        SCOPED_TRACE(c.what);
        Harness harness(c.limits);
        std::vector<Decision> got;
        for (const std::string& client : c.clients)
            got.push_back(harness.admit(client));
        EXPECT_EQ(got, c.expected);
    }
}

TEST(CgiAdmission, HandsAFreedSlotToTheOldestWaiterFirst) {
    Harness harness({1, 0, 3});
    ASSERT_EQ(harness.admit("x", "running"), Decision::run);
    ASSERT_EQ(harness.admit("a", "first"), Decision::queued);
    ASSERT_EQ(harness.admit("b", "second"), Decision::queued);
    ASSERT_EQ(harness.admit("a", "third"), Decision::queued);
    harness.admission.release("x");
    EXPECT_EQ(harness.woken, std::vector<std::string>{"first"});
    harness.admission.release("a");
    harness.admission.release("b");
    EXPECT_EQ(harness.woken, (std::vector<std::string>{"first", "second", "third"}));
    EXPECT_EQ(harness.admission.running(), 1u);  // the slot passed along, never freed
    EXPECT_EQ(harness.admission.queued(), 0u);
    harness.admission.release("a");
    EXPECT_EQ(harness.admission.running(), 0u);
}

TEST(CgiAdmission, AWithdrawnWaiterLeavesNoTraceAndIsNeverWoken) {
    Harness harness({1, 1, 1});
    ASSERT_EQ(harness.admit("x"), Decision::run);
    ASSERT_EQ(harness.admit("a", "gone"), Decision::queued);
    EXPECT_EQ(harness.admit("b"), Decision::queue_full);
    EXPECT_TRUE(harness.admission.withdraw(harness.tickets["gone"]));
    EXPECT_EQ(harness.admission.queued(), 0u);
    EXPECT_EQ(harness.admission.admitted_for("a"), 0u);
    ASSERT_EQ(harness.admit("b", "next"), Decision::queued);  // its place is free again
    harness.admission.release("x");
    EXPECT_EQ(harness.woken, std::vector<std::string>{"next"});
}

TEST(CgiAdmission, WithdrawingAfterTheSlotWasHandedOverSaysTheWaiterHoldsIt) {
    Harness harness({1, 0, 1});
    ASSERT_EQ(harness.admit("x"), Decision::run);
    ASSERT_EQ(harness.admit("a", "late"), Decision::queued);
    harness.admission.release("x");
    ASSERT_EQ(harness.woken, std::vector<std::string>{"late"});
    EXPECT_FALSE(harness.admission.withdraw(harness.tickets["late"]));
    EXPECT_EQ(harness.admission.running(), 1u);
    harness.admission.release("a");
    EXPECT_EQ(harness.admission.running(), 0u);
}

TEST(CgiAdmission, ForgetsAnAddressOnceItsLastScriptIsOver) {
    Harness harness({4, 2, 0});
    ASSERT_EQ(harness.admit("a"), Decision::run);
    ASSERT_EQ(harness.admit("a"), Decision::run);
    EXPECT_EQ(harness.admission.admitted_for("a"), 2u);
    harness.admission.release("a");
    EXPECT_EQ(harness.admit("a"), Decision::run);
    harness.admission.release("a");
    harness.admission.release("a");
    EXPECT_EQ(harness.admission.admitted_for("a"), 0u);
    EXPECT_EQ(harness.admission.running(), 0u);
}

TEST(CgiAdmission, OnceClosedItQueuesNothingAndHandsNoSlotOn) {
    Harness harness({1, 0, 2});
    ASSERT_EQ(harness.admit("x"), Decision::run);
    ASSERT_EQ(harness.admit("a", "waiting"), Decision::queued);
    harness.admission.close();
    harness.admission.release("x");
    EXPECT_TRUE(harness.woken.empty());
    EXPECT_EQ(harness.admission.running(), 0u);
    EXPECT_TRUE(harness.admission.withdraw(harness.tickets["waiting"]));
    EXPECT_EQ(harness.admit("b"), Decision::queue_full);
}

// Worker threads admit, withdraw and release at once: every slot comes back, no waiter is lost.
TEST(CgiAdmission, StaysConsistentUnderConcurrentUse) {
    constexpr int kThreads = 4;
    constexpr int kRounds = 2000;
    CgiAdmission admission({3, 0, 8});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&admission, t] {
            const std::string client = "client-" + std::to_string(t);
            for (int i = 0; i < kRounds; ++i) {
                std::atomic<bool> granted{false};
                CgiAdmission::Ticket ticket = 0;
                auto decision = admission.admit(
                    client, [&granted] { granted = true; }, ticket);
                if (decision == Decision::queued && admission.withdraw(ticket)) continue;
                if (decision == Decision::queue_full) continue;
                admission.release(client);  // ran, or was handed a slot before withdrawing
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    EXPECT_EQ(admission.running(), 0u);
    EXPECT_EQ(admission.queued(), 0u);
}

}  // namespace
}  // namespace cgihost
