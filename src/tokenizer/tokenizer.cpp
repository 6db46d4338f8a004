#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "autoneural/error.h"

namespace autoneural::tokenizer {

namespace {

// GPT-2's byte→unicode map: printable Latin-1 bytes stand for themselves; the other 68 bytes (controls,
// space, DEL, NBSP, soft hyphen, ...) are moved to U+0100.. in byte order, so that every token is
// printable text without spaces.
constexpr bool gpt2_self_mapped(int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174); }

constexpr std::array<uint16_t, 256> make_byte_to_cp() {
  std::array<uint16_t, 256> t{};
  int n = 0;
  for (int b = 0; b < 256; ++b) t[b] = static_cast<uint16_t>(gpt2_self_mapped(b) ? b : 256 + n++);
  return t;
}
constexpr std::array<uint16_t, 256> kByteToCp = make_byte_to_cp();
constexpr int kMaxMappedCp = 256 + 68;

constexpr std::array<int16_t, kMaxMappedCp> make_cp_to_byte() {
  std::array<int16_t, kMaxMappedCp> t{};
  for (auto& v : t) v = -1;
  for (int b = 0; b < 256; ++b) t[kByteToCp[b]] = static_cast<int16_t>(b);
  return t;
}
constexpr std::array<int16_t, kMaxMappedCp> kCpToByte = make_cp_to_byte();

// The UTF-8 spelling of each byte's mapped code point (all are below U+0800: one or two bytes).
struct Spelling {
  char s[2];
  uint8_t len;
};
constexpr std::array<Spelling, 256> make_spellings() {
  std::array<Spelling, 256> t{};
  for (int b = 0; b < 256; ++b) {
    const unsigned cp = kByteToCp[b];
    if (cp < 0x80) {
      t[b] = {{static_cast<char>(cp), 0}, 1};
    } else {
      t[b] = {{static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))}, 2};
    }
  }
  return t;
}
constexpr std::array<Spelling, 256> kSpelling = make_spellings();

// Decodes one UTF-8 sequence at s[i]; returns its length (1 for an invalid byte) and sets cp (-1 if
// invalid). Only used on vocabulary strings, so overlong forms need no special care.
size_t next_cp(std::string_view s, size_t i, int32_t& cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    cp = -1;
    return 1;
  }
  int32_t v = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) {
      cp = -1;
      return 1;
    }
    v = (v << 6) | (cc & 0x3F);
  }
  cp = v;
  return len;
}

// Undoes the byte map of a NORMAL token. Characters outside the map (possible in hand-made vocabularies)
// are kept as their own UTF-8 bytes rather than dropped.
std::string unmap_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    int32_t cp = 0;
    const size_t len = next_cp(text, i, cp);
    if (cp >= 0 && cp < kMaxMappedCp && kCpToByte[cp] >= 0) {
      out.push_back(static_cast<char>(kCpToByte[cp]));
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

uint64_t merge_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace

// Per-call working memory for the merge loop, reused across the pre-tokens of one encode() call.
struct Tokenizer::Scratch {
  struct Symbol {
    int32_t id;  // token id; -1 when the byte has no token (never merges, emits nothing); -2 when merged away
    int32_t prev, next;
  };
  struct Candidate {
    int32_t rank, left, left_id, right_id;
  };
  std::string spelled;
  std::vector<Symbol> syms;
  std::vector<Candidate> heap;
  std::vector<std::string_view> pieces;
};

Tokenizer::Tokenizer(VocabData vocab) : data_(std::move(vocab)), pre_(data_.pre.empty() ? "default" : data_.pre) {
  validate_vocab(data_, "tokenizer");
  const auto n = static_cast<int32_t>(data_.tokens.size());
  token_to_id_.reserve(data_.tokens.size());
  // Later duplicates win, as in llama.cpp's token_to_id map.
  for (int32_t i = 0; i < n; ++i) token_to_id_[data_.tokens[i]] = i;

  for (int b = 0; b < 256; ++b) {
    auto it = token_to_id_.find(std::string_view(kSpelling[b].s, kSpelling[b].len));
    byte_token_[b] = it == token_to_id_.end() ? -1 : it->second;
  }

  // Merge "a b" → (id(a), id(b)) with rank = index and result id(ab). Merges whose parts or result are
  // not tokens can never fire and are skipped; a repeated pair keeps its first (best) rank.
  merges_.reserve(data_.merges.size());
  std::string joined;
  for (size_t r = 0; r < data_.merges.size(); ++r) {
    const std::string& m = data_.merges[r];
    // Search from 1 so that a left part that is itself a space (non byte-level vocabularies) still splits.
    const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
    if (sp == std::string::npos) throw Error("tokenizer: malformed merge \"" + m + "\" (rank " + std::to_string(r) + ")");
    const std::string_view left(m.data(), sp), right(m.data() + sp + 1, m.size() - sp - 1);
    auto li = token_to_id_.find(left), ri = token_to_id_.find(right);
    joined.assign(left).append(right);
    auto ji = token_to_id_.find(joined);
    if (li == token_to_id_.end() || ri == token_to_id_.end() || ji == token_to_id_.end()) continue;
    merges_.try_emplace(merge_key(li->second, ri->second), MergeInfo{static_cast<int32_t>(r), ji->second});
  }

  pieces_.resize(data_.tokens.size());
  for (int32_t i = 0; i < n; ++i) {
    const int32_t t = data_.token_types[i];
    pieces_[i] = (t == TOKEN_TYPE_NORMAL) ? unmap_bytes(data_.tokens[i]) : data_.tokens[i];
    if ((t == TOKEN_TYPE_CONTROL || t == TOKEN_TYPE_USER_DEFINED || t == TOKEN_TYPE_UNKNOWN) &&
        !data_.tokens[i].empty())
      specials_.push_back(i);
  }
  // llama.cpp cuts special tokens out longest-first; ties by id keep the result deterministic.
  std::stable_sort(specials_.begin(), specials_.end(), [&](int32_t a, int32_t b) {
    return data_.tokens[a].size() > data_.tokens[b].size();
  });
  trie_.emplace_back();
  root_child_.fill(-1);
  for (size_t r = 0; r < specials_.size(); ++r) {
    int32_t node = 0;
    for (unsigned char c : data_.tokens[specials_[r]]) {
      int32_t child = trie_child(node, c);
      if (child < 0) {
        child = static_cast<int32_t>(trie_.size());
        if (node == 0) {
          root_child_[c] = child;
        } else {
          trie_[node].next.emplace_back(c, child);
        }
        trie_.emplace_back();
      }
      node = child;
    }
    // Two specials with the same text: the first in priority order claims every occurrence anyway.
    if (trie_[node].rank < 0) trie_[node].rank = static_cast<int32_t>(r);
  }
}

bool Tokenizer::is_control(int32_t id) const {
  return id >= 0 && id < n_vocab() && data_.token_types[id] == TOKEN_TYPE_CONTROL;
}

std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  auto it = token_to_id_.find(text);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

// Splits the text around special tokens with llama.cpp's semantics: each special token, longest first,
// claims its left-to-right, non-overlapping occurrences in the text not yet claimed by a longer one.
// CONTROL/UNKNOWN tokens take part only with parse_special; USER_DEFINED ones always do (they are
// ordinary added words, not markup).
//
// Rather than rescanning the text once per special token (hundreds of them in real vocabularies), all
// occurrences are found in one pass with a byte trie and then claimed in priority order; the outcome is
// the same as llama.cpp's repeated fragment splitting.
std::vector<Tokenizer::Fragment> Tokenizer::partition_specials(std::string_view text, const SpecialFilter& filter) const {
  // A CONTROL token written inside a plain range (a message's content) stays text unless kept.
  auto allowed = [&](int32_t id, size_t pos) {
    if (data_.token_types[id] == TOKEN_TYPE_USER_DEFINED) return true;
    if (!filter.parse_special) return false;
    if (std::find(filter.keep.begin(), filter.keep.end(), id) != filter.keep.end()) return true;
    const size_t end = pos + data_.tokens[id].size();
    for (const TextRange& r : filter.plain)
      if (pos < r.second && end > r.first) return false;
    return true;
  };
  struct Occurrence {
    int32_t rank;  // index into specials_ (priority order)
    size_t pos;
  };
  std::vector<Occurrence> occ;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    int32_t node = 0;
    for (size_t k = pos; k < text.size(); ++k) {
      node = trie_child(node, static_cast<unsigned char>(text[k]));
      if (node < 0) break;
      const int32_t rank = trie_[node].rank;
      if (rank >= 0 && allowed(specials_[rank], pos)) occ.push_back({rank, pos});
    }
  }
  std::vector<Fragment> frags;
  if (occ.empty()) {
    if (!text.empty()) frags.push_back({-1, 0, text.size()});
    return frags;
  }
  std::sort(occ.begin(), occ.end(),
            [](const Occurrence& a, const Occurrence& b) { return a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos; });
  std::vector<uint8_t> claimed(text.size(), 0);
  std::vector<Fragment> hits;
  size_t search_from = 0;  // llama.cpp resumes its search after the previous match of the same token
  for (size_t i = 0; i < occ.size(); ++i) {
    if (i == 0 || occ[i].rank != occ[i - 1].rank) search_from = 0;
    const int32_t id = specials_[occ[i].rank];
    const size_t pos = occ[i].pos, len = data_.tokens[id].size();
    if (pos < search_from) continue;
    if (std::find(claimed.begin() + pos, claimed.begin() + pos + len, 1) != claimed.begin() + pos + len) continue;
    std::fill(claimed.begin() + pos, claimed.begin() + pos + len, 1);
    hits.push_back({id, pos, len});
    search_from = pos + len;
  }
  std::sort(hits.begin(), hits.end(), [](const Fragment& a, const Fragment& b) { return a.begin < b.begin; });
  size_t at = 0;
  for (const Fragment& h : hits) {
    if (h.begin > at) frags.push_back({-1, at, h.begin - at});
    frags.push_back(h);
    at = h.begin + h.len;
  }
  if (at < text.size()) frags.push_back({-1, at, text.size() - at});
  return frags;
}

int32_t Tokenizer::trie_child(int32_t node, unsigned char c) const {
  if (node == 0) return root_child_[c];
  for (const auto& [byte, child] : trie_[node].next)
    if (byte == c) return child;
  return -1;
}

void Tokenizer::encode_pretoken(std::string_view piece, Scratch& sc, std::vector<int32_t>& out) const {
  if (piece.size() == 1) {
    const int32_t id = byte_token_[static_cast<unsigned char>(piece[0])];
    if (id >= 0) out.push_back(id);
    return;
  }
  if (pre_.ignore_merges()) {
    sc.spelled.clear();
    for (char c : piece) {
      const Spelling& sp = kSpelling[static_cast<unsigned char>(c)];
      sc.spelled.append(sp.s, sp.len);
    }
    if (auto it = token_to_id_.find(sc.spelled); it != token_to_id_.end()) {
      out.push_back(it->second);
      return;
    }
  }

  // Merge loop: symbols in a linked list (a merge keeps the left symbol and unlinks the right one) and a
  // lazily-invalidated min-heap of candidate pairs ordered by (rank, position), so the leftmost
  // occurrence of the best-ranked pair merges first, as in HF and llama.cpp. Each merge queues at most
  // two new candidates: O(n log n) per pre-token.
  using Symbol = Scratch::Symbol;
  using Candidate = Scratch::Candidate;
  auto& syms = sc.syms;
  auto& heap = sc.heap;
  const auto n = static_cast<int32_t>(piece.size());
  syms.resize(piece.size());
  for (int32_t i = 0; i < n; ++i)
    syms[i] = Symbol{byte_token_[static_cast<unsigned char>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1};

  const auto worse = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;  // std heap is a max-heap: invert
  };
  heap.clear();
  auto try_pair = [&](int32_t left) {
    if (left < 0) return;
    const int32_t right = syms[left].next;
    if (right < 0 || syms[left].id < 0 || syms[right].id < 0) return;
    auto it = merges_.find(merge_key(syms[left].id, syms[right].id));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, left, syms[left].id, syms[right].id});
    std::push_heap(heap.begin(), heap.end(), worse);
  };
  for (int32_t i = 0; i + 1 < n; ++i) try_pair(i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), worse);
    const Candidate c = heap.back();
    heap.pop_back();
    // Stale if either side changed since the candidate was queued. Token strings only grow, so an id
    // can never come back to an earlier value: the id check is exact.
    Symbol& l = syms[c.left];
    if (l.id != c.left_id || l.next < 0) continue;
    Symbol& r = syms[l.next];
    if (r.id != c.right_id) continue;
    l.id = merges_.find(merge_key(c.left_id, c.right_id))->second.result;
    r.id = -2;
    l.next = r.next;
    if (l.next >= 0) syms[l.next].prev = c.left;
    try_pair(l.prev);
    try_pair(c.left);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next)
    if (syms[i].id >= 0) out.push_back(syms[i].id);
}

std::vector<int32_t> Tokenizer::encode_fragments(std::string_view text, const SpecialFilter& filter) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  Scratch sc;
  for (const Fragment& f : partition_specials(text, filter)) {
    if (f.id >= 0) {
      out.push_back(f.id);
      continue;
    }
    sc.pieces.clear();
    pre_.split(text.substr(f.begin, f.len), sc.pieces);
    for (std::string_view p : sc.pieces) encode_pretoken(p, sc, out);
  }
  return out;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> out;
  if (add_special && data_.add_bos && data_.bos >= 0) out.push_back(data_.bos);
  const auto body = encode_fragments(text, {parse_special, {}, {}});
  out.insert(out.end(), body.begin(), body.end());
  if (add_special && data_.add_eos && data_.eos >= 0) out.push_back(data_.eos);
  return out;
}

std::vector<int32_t> Tokenizer::encode_chat(std::string_view text, std::span<const TextRange> plain,
                                            std::span<const int32_t> keep) const {
  return encode_fragments(text, {true, plain, keep});
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  if (id < 0 || id >= n_vocab())
    throw Error("token id " + std::to_string(id) + " is out of range (vocabulary has " +
                std::to_string(n_vocab()) + " tokens)");
  switch (data_.token_types[id]) {
    case TOKEN_TYPE_NORMAL:
    case TOKEN_TYPE_USER_DEFINED:
      return pieces_[id];
    case TOKEN_TYPE_CONTROL:
    case TOKEN_TYPE_UNKNOWN:
      return render_special ? pieces_[id] : std::string();
    default:  // UNUSED, BYTE, UNDEFINED: suppressed, like llama.cpp does for BPE vocabularies
      return std::string();
  }
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool render_special) const {
  std::string out;
  for (int32_t id : ids) out += token_to_piece(id, render_special);
  return out;
}

std::string byte_level_spelling(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out.append(kSpelling[b].s, kSpelling[b].len);
  return out;
}

size_t append_valid_utf8(std::string_view in, std::string& out, bool final) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";
  size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    // Expected length and the allowed range of the second byte (Unicode Table 3-7), which excludes
    // overlong forms, surrogates and code points above U+10FFFF.
    size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if (c == 0xED) len = 3, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c == 0xF4) len = 4, hi = 0x8F;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    if (len == 0) {
      out.append(kReplacement);
      ++i;
      continue;
    }
    size_t k = 1;
    while (k < len && i + k < in.size()) {
      const auto cc = static_cast<unsigned char>(in[i + k]);
      const bool ok = k == 1 ? (cc >= lo && cc <= hi) : (cc >= 0x80 && cc <= 0xBF);
      if (!ok) break;
      ++k;
    }
    if (k == len) {
      out.append(in.substr(i, len));
      i += len;
    } else if (i + k == in.size() && !final) {
      return i;  // a valid prefix cut by the end of the input: wait for more bytes
    } else {
      out.append(kReplacement);  // one replacement for the maximal invalid subpart
      i += k;
    }
  }
  return i;
}

std::string StreamDecoder::push(int32_t id) {
  pending_ += tok_->token_to_piece(id, render_special_);
  std::string out;
  const size_t used = append_valid_utf8(pending_, out, false);
  pending_.erase(0, used);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  append_valid_utf8(pending_, out, true);
  pending_.clear();
  return out;
}

}  // namespace autoneural::tokenizer
