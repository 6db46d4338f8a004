// Several sequences in one pass (decode_batch) and state snapshots (Session::snapshot / restore), on the
// lfm2-tiny fixture.
#include <gtest/gtest.h>

#include "autoneural/llm.h"
#include "backend/float_backend.h"
#include "runtime/model_impl.h"
#include "test_util.h"

namespace autoneural {
namespace {

using test::lfm2_tiny;

constexpr int64_t kVocab = 640;

std::shared_ptr<Model> load(const std::string& backend = "float") {
  ModelOptions o;
  o.n_threads = 2;
  o.backend = backend;
  if (backend != "float") o.recipe = "w8a16";
  return Model::load(lfm2_tiny("model-f32.gguf"), o);
}

std::vector<int32_t> prompt(const char* name) { return test::npy_i32(lfm2_tiny(std::string("ref/") + name + ".tokens.npy")); }

std::span<const int32_t> part(const std::vector<int32_t>& v, size_t begin, size_t n) {
  return std::span<const int32_t>(v.data() + begin, n);
}

// The bound the prefill-vs-incremental tests use: max|diff| <= 1e-4 · max|ref|, argmax equal on every row.
void expect_close(const std::vector<float>& got, const std::vector<float>& ref, const std::string& what) {
  const auto d = test::compare(got, ref, kVocab);
  EXPECT_LE(d.max_abs, 1e-4 * d.max_ref) << what << ": max|diff| " << d.max_abs << " max|ref| " << d.max_ref;
  EXPECT_EQ(d.top1_agree, 1.0) << what;
}

int32_t argmax(const std::vector<float>& row) {
  return static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
}

std::vector<std::vector<float>> batch(std::vector<Session*> sessions, std::vector<std::span<const int32_t>> tokens,
                                      bool all_logits = false) {
  return decode_batch(sessions, tokens, all_logits);
}

SessionOptions f32_cache(int64_t n_ctx = 512, int64_t n_batch = 512) { return {n_ctx, n_batch, CacheType::F32}; }

TEST(Batch, TwoSequencesGiveTheLogitsOfEachAloneAndTheSameGreedyTokens) {
  auto model = load();
  const auto a = prompt("plain"), b = prompt("long");
  Session alone_a(model, f32_cache()), alone_b(model, f32_cache());
  Session batch_a(model, f32_cache()), batch_b(model, f32_cache());
  auto ra = alone_a.decode(a, true), rb = alone_b.decode(b, true);
  auto out = batch({&batch_a, &batch_b}, {a, b}, true);
  ASSERT_EQ(out.size(), 2u);
  expect_close(out[0], ra, "prefill a");
  expect_close(out[1], rb, "prefill b");
  // Greedy continuation, one token per sequence per pass.
  std::vector<float> la(ra.end() - kVocab, ra.end()), lb(rb.end() - kVocab, rb.end());
  std::vector<float> ga(out[0].end() - kVocab, out[0].end()), gb(out[1].end() - kVocab, out[1].end());
  for (int step = 0; step < 12; ++step) {
    const int32_t ta = argmax(la), tb = argmax(lb);
    ASSERT_EQ(argmax(ga), ta) << step;
    ASSERT_EQ(argmax(gb), tb) << step;
    la = alone_a.decode(std::span<const int32_t>(&ta, 1));
    lb = alone_b.decode(std::span<const int32_t>(&tb, 1));
    out = batch({&batch_a, &batch_b}, {std::span<const int32_t>(&ta, 1), std::span<const int32_t>(&tb, 1)});
    expect_close(out[0], la, "step " + std::to_string(step) + " a");
    expect_close(out[1], lb, "step " + std::to_string(step) + " b");
    ga = out[0];
    gb = out[1];
  }
  EXPECT_EQ(batch_a.history(), alone_a.history());
  EXPECT_EQ(batch_b.history(), alone_b.history());
  EXPECT_EQ(batch_a.n_past(), alone_a.n_past());
}

TEST(Batch, ThreeSequencesAtDifferentPositionsOneDecodingWhileOthersPrefill) {
  auto model = load();
  const auto p1 = prompt("chat"), p2 = prompt("special"), p3 = prompt("long");
  // n_batch 4 for the second: its 9 tokens take three passes, the others finish in the first.
  const SessionOptions o2 = f32_cache(512, 4);
  Session alone1(model, f32_cache()), alone2(model, o2), alone3(model, f32_cache());
  Session s1(model, f32_cache()), s2(model, o2), s3(model, f32_cache());
  // Different histories first: s1 holds its prompt, s2 a part of its own, s3 nothing.
  for (Session* s : {&alone1, &s1}) s->decode(p1);
  for (Session* s : {&alone2, &s2}) s->decode(part(p2, 0, 5));
  ASSERT_GE(p2.size(), 14u);
  const int32_t next = 42;
  for (bool all : {true, false}) {
    const std::vector<std::span<const int32_t>> in = {std::span<const int32_t>(&next, 1), part(p2, 5, 9),
                                                      all ? part(p3, 0, 40) : part(p3, 40, 30)};
    const auto want1 = alone1.decode(in[0], all), want2 = alone2.decode(in[1], all), want3 = alone3.decode(in[2], all);
    const auto got = batch({&s1, &s2, &s3}, in, all);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[1].size(), all ? 9u * kVocab : static_cast<size_t>(kVocab));
    expect_close(got[0], want1, "decoding one token");
    expect_close(got[1], want2, "prefilling in chunks");
    expect_close(got[2], want3, "prefilling from the start");
    EXPECT_EQ(s1.n_past(), alone1.n_past());
    EXPECT_EQ(s2.n_past(), alone2.n_past());
    EXPECT_EQ(s3.history(), alone3.history());
  }
  // A batch of one is Session::decode.
  Session one(model, f32_cache()), ref(model, f32_cache());
  EXPECT_EQ(batch({&one}, {p1}, true)[0], ref.decode(p1, true));
}

TEST(Batch, QuantizedBackendsGiveExactlyTheLogitsOfEachAlone) {
  // Their dynamic ranges span a call's rows, so they run the sequences one after another: bit-equal.
  for (const char* backend : {"sim", "npu"}) {
    auto model = load(backend);
    const auto a = prompt("plain"), b = prompt("chat");
    Session alone_a(model, f32_cache(256, 16)), alone_b(model, f32_cache(256, 16));
    Session sa(model, f32_cache(256, 16)), sb(model, f32_cache(256, 16));
    const auto got = batch({&sa, &sb}, {a, b}, true);
    EXPECT_EQ(got[0], alone_a.decode(a, true)) << backend;
    EXPECT_EQ(got[1], alone_b.decode(b, true)) << backend;
  }
}

TEST(Batch, SnapshotRestoreRepeatsTheContinuationExactly) {
  auto model = load();
  const auto p = prompt("long");
  for (CacheType cache : {CacheType::F32, CacheType::F16}) {
    const SessionOptions opts{512, 64, cache};
    Session s(model, opts);
    s.decode(part(p, 0, 150));
    const SessionSnapshot snap = s.snapshot();
    EXPECT_EQ(snap.n_past(), 150);
    EXPECT_EQ(snap.history(), s.history());
    const auto mem = s.memory();
    EXPECT_EQ(snap.bytes(), mem.conv_bytes + 150 * mem.kv_bytes_per_token + 150 * sizeof(int32_t));
    const auto first = s.decode(part(p, 150, 50), true);
    EXPECT_EQ(s.n_past(), 200);
    s.restore(snap);
    EXPECT_EQ(s.n_past(), 150);
    EXPECT_EQ(s.history(), snap.history());
    EXPECT_EQ(s.decode(part(p, 150, 50), true), first);
    // Into another session of the same model (a prefix cache hit), even one with a smaller context.
    Session other(model, {160, 64, cache});
    other.decode(part(p, 0, 7));  // whatever it held is replaced
    other.restore(snap);
    EXPECT_EQ(other.decode(part(p, 150, 10), true),
              std::vector<float>(first.begin(), first.begin() + 10 * kVocab));
    // A copy of the snapshot is the same snapshot; it outlives the session it came from.
    const SessionSnapshot copy = snap;
    Session third(model, opts);
    third.restore(copy);
    EXPECT_EQ(third.decode(part(p, 150, 50), true), first);
  }
}

TEST(Batch, RestoringAMismatchedSnapshotThrowsAndChangesNothing) {
  auto model = load();
  const auto p = prompt("long");
  Session s(model, f32_cache());
  s.decode(part(p, 0, 120));
  const SessionSnapshot snap = s.snapshot();
  Session target(model, f32_cache(100));
  target.decode(part(p, 0, 3));
  test::expect_error([&] { target.restore(snap); }, "context length 100");
  Session f16(model, {512, 64, CacheType::F16});
  test::expect_error([&] { f16.restore(snap); }, "KV cache");
  Session other_model(load(), f32_cache());
  test::expect_error([&] { other_model.restore(snap); }, "another model");
  EXPECT_EQ(target.n_past(), 3);
  EXPECT_EQ(target.history(), std::vector<int32_t>(p.begin(), p.begin() + 3));
  EXPECT_EQ(f16.n_past(), 0);
  // Still usable and unchanged: the next logits are those of a session that never saw the failures.
  Session ref(model, f32_cache(100));
  ref.decode(part(p, 0, 3));
  EXPECT_EQ(target.decode(part(p, 3, 4), true), ref.decode(part(p, 3, 4), true));
}

TEST(Batch, BadBatchesThrowAndLeaveEverySessionUnchanged) {
  auto model = load();
  const auto p = prompt("long");
  Session a(model, f32_cache(64)), b(model, f32_cache(64)), foreign(load(), f32_cache(64));
  a.decode(part(p, 0, 10));
  b.decode(part(p, 0, 20));
  const std::vector<int32_t> bad_id = {5, 640}, one = {9};
  test::expect_error([&] { batch({&a, &foreign}, {one, one}); }, "another model");
  test::expect_error([&] { batch({&a, &b}, {one, bad_id}); }, "outside the vocabulary");
  test::expect_error([&] { batch({&a, &b}, {one, part(p, 20, 45)}); }, "context length 64");
  test::expect_error([&] { batch({&a, &b}, {one, {}}); }, "nothing to evaluate");
  test::expect_error([&] { batch({&a, &a}, {one, one}); }, "twice");
  test::expect_error([&] { batch({&a, nullptr}, {one, one}); }, "null");
  test::expect_error([&] { batch({&a, &b}, {one}); }, "token lists");
  EXPECT_TRUE(batch({}, {}).empty());
  EXPECT_EQ(a.n_past(), 10);
  EXPECT_EQ(b.n_past(), 20);
  EXPECT_EQ(foreign.n_past(), 0);
  EXPECT_EQ(b.history(), std::vector<int32_t>(p.begin(), p.begin() + 20));
  // The states are intact: a good batch now gives what fresh sessions with the same history give.
  Session ra(model, f32_cache(64)), rb(model, f32_cache(64));
  ra.decode(part(p, 0, 10));
  rb.decode(part(p, 0, 20));
  const auto got = batch({&a, &b}, {one, one});
  expect_close(got[0], ra.decode(one), "a after the failures");
  expect_close(got[1], rb.decode(one), "b after the failures");
}

TEST(Batch, StateSnapshotHoldsTheUsedKvRowsOnly) {
  backend::StateShape shape{.n_layers = 2, .is_attention = {false, true}, .hidden = 4, .conv_steps = 2,
                            .n_head_kv = 1, .head_dim = 2, .n_ctx = 8, .cache_type = backend::CacheType::F16};
  backend::SequenceState st(shape);
  st.conv(0)[5] = 2.5f;
  st.kv(1).k16[0] = 7;
  st.kv(1).v16[5] = 9;
  st.kv(1).k16[6] = 11;  // position 3: not in a snapshot at n_past 3
  st.set_n_past(3);
  const auto snap = st.snapshot();
  EXPECT_EQ(snap.kv[1].k16.size(), 6u);
  EXPECT_TRUE(snap.kv[0].k16.empty());
  EXPECT_EQ(snap.bytes(), 2u * 4 * 4 + 2 * 6 * 2);
  backend::SequenceState other(shape);
  other.kv(1).k16[6] = 5;  // the KV cache is not zero-filled up front; restoring leaves later rows alone
  other.restore(snap);
  EXPECT_EQ(other.n_past(), 3);
  EXPECT_EQ(other.conv(0)[5], 2.5f);
  EXPECT_EQ(other.kv(1).k16[0], 7);
  EXPECT_EQ(other.kv(1).v16[5], 9);
  EXPECT_EQ(other.kv(1).k16[6], 5);  // position 3's 11 was not in the snapshot
  shape.hidden = 8;
  backend::SequenceState wider(shape);
  EXPECT_THROW(wider.restore(snap), Error);
  EXPECT_EQ(wider.n_past(), 0);
}

TEST(Batch, ModelRejectsStatesOfAnotherShapeAndRepeatedStates) {
  auto model = load();
  const auto& lm = *runtime::impl_of(*model).lm;
  backend::FloatBackend be(1);
  model::Lfm2Workspace ws;
  backend::SequenceState good(lm.state_shape(16, backend::CacheType::F32));
  auto shape = lm.state_shape(16, backend::CacheType::F32);
  shape.head_dim *= 2;
  backend::SequenceState bad(shape);
  const int32_t id = 3;
  std::vector<float> logits(2 * kVocab);
  std::vector<model::SequenceChunk> batch = {{&good, &id, nullptr, 1, model::LogitsRows::Last, logits.data()},
                                             {&bad, &id, nullptr, 1, model::LogitsRows::Last, logits.data() + kVocab}};
  test::expect_error([&] { lm.forward_batch(be, batch, ws); }, "another model");
  batch[1].state = &good;
  test::expect_error([&] { lm.forward_batch(be, batch, ws); }, "twice");
  EXPECT_EQ(good.n_past(), 0);
}

}  // namespace
}  // namespace autoneural
