#pragma once
// Attention on graphs and as dynamics:
//   1. path-merging graph search with a constructed (not trained) transformer (Saparov et al.,
//      "Transformers Struggle to Learn to Search", ICLR 2025),
//   2. attention as diffusion: Markov operator, DEQ fixed points (Bai et al., "Deep Equilibrium
//      Models", 2019), focus ranking over link graphs,
//   3. attention as flow: temperature softmax, Sinkhorn attention, token particles on the sphere
//      (Geshkovski et al., "A mathematical perspective on Transformers", 2023).
// Every attention evaluation below runs through attend::attention.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attend::graph {

// ---------------------------------------------------------------- 1. search (Saparov et al. 2025)
// A directed graph on n vertices plus a query: start, goal and the path so far (path[0] = start).
// Encoded as tokens: for each edge  kEdge u v, then  kQuery start goal, then  kPath path...
// The answer is the next vertex on a path to the goal: a neighbour of path.back() reaching goal.
struct SearchProblem {
  int n = 0;
  std::vector<std::pair<int, int>> edges;
  int start = 0, goal = 0;
  std::vector<int> path;
};
constexpr int kEdge = -1, kQuery = -2, kPath = -3;  // special tokens (vertex tokens are >= 0)
std::vector<int> encode(const SearchProblem& p);
SearchProblem decode(int n, const std::vector<int>& tokens);

// Generators. Vertex labels are shuffled; every problem has a reachable goal != path.back().
// naive DAG: vertex j draws 1..max_parents parents among the earlier ones; star: `arms` chains of
// arm_length from the start, the goal ends arm 0. Saparov et al.'s balanced distribution, the one
// to train on, is attend/search_task.h.
SearchProblem generate_naive_dag(int n, int max_parents, std::uint64_t seed);
SearchProblem generate_star(int arms, int arm_length, std::uint64_t seed);

// The correct answers by BFS (every out-neighbour of path.back() from which the goal is reachable,
// sorted), and the shortest distance from `from` to `to` (−1: unreachable).
std::vector<int> bfs_answers(const SearchProblem& p);
int bfs_distance(const SearchProblem& p, int from, int to);

// The constructed transformer: one token per vertex holding its reachable set R_v ⊂ {0..n-1}
// (initially v and its out-neighbours). Merge layer: q_v = R_v, k_u = e_u, v_u = R_u, scale β large,
// so vertex v attends uniformly to the vertices it reaches and copies the union of their sets (then
// a threshold, the feed-forward part). After l layers R_v holds every vertex within 2^l hops. Then a
// choice layer, also attention: the current vertex's token (q = [e_current ; e_goal]) attends over
// the vertex tokens (k_w = [parents(w) ; R_w]) plus a "none" key, so its output is uniform over the
// children of the current vertex whose set holds the goal (the answer: the first of them), or the
// none key when no child does. Graphs wider than the kernel's head size are computed in exact
// blocks of <= head_block vertices (attend::attention per block, merged by log-sum-exp); n <= 8192.
struct MergeTrace {
  std::vector<std::vector<std::vector<int>>> sets;  // [layer 0..L][vertex] -> sorted reachable set
  std::vector<float> choice;                         // [n] the choice layer's output
  std::vector<int> answers;                          // vertices with choice weight > 0.5 / (n + 1)
  int answer = -1;                                   // argmax of the choice (smallest label on ties); −1: none
};
MergeTrace path_merge(const SearchProblem& p, int layers, int head_block = 1024);
// Merge layers a query needs when the goal is `distance` steps from the current vertex: a child on
// a shortest path is distance − 1 from the goal, in its set once 2^layers >= distance − 1, so
// ⌈log2(distance − 1)⌉ (0 for distance <= 2). One layer fewer finds no answer.
int layers_for_lookahead(int distance);
// layers_for_lookahead(BFS distance from path.back() to the goal); throws if the goal is unreachable.
int layers_needed(const SearchProblem& p);

// ------------------------------------------------------------------------- 2. diffusion
// A = softmax(scale·q kᵀ) for q, k: [n, d] (row-major), computed by attend::attention with V = I.
// The caller asks for the n x n matrix here, so it is materialised: returned row-major [n, n].
std::vector<double> attention_matrix(const std::vector<float>& q, const std::vector<float>& k, int n, int d,
                                     float scale);
// The Markov chain of a: P = a with each row renormalised to sum 1 in double (float32 attention rows
// sum to 1 only to ~1e-7). π* solves π* P = π*, Σ π* = 1 by a dense LU solve (LAPACK dgesv); when
// that system is singular (a reducible chain, π* not unique) the lazy chain (I + P)/2 is iterated
// from the uniform distribution, renormalised each step, until the L1 change is <= tol or
// max_iter steps. λ₂: the eigenvalue of P largest in modulus after λ₁ = 1, from LAPACK dgeev (all
// eigenvalues, so a complex pair is found as such); spectral gap = 1 − |λ₂|. a: [n, n], entries >= 0.
struct MarkovResult {
  std::vector<double> pi;   // stationary π*, Σ π* = 1
  double lambda2 = 0;       // |λ₂|
  double lambda2_re = 0, lambda2_im = 0;  // λ₂ itself (the member of a complex pair with im >= 0)
  int iterations = 0;       // power iterations (0: the direct solve succeeded)
};
MarkovResult markov_stationary(const std::vector<double>& a, int n, double tol = 1e-13, int max_iter = 100000);

// Weight-tied attention layer z ↦ f(z) = x + γ · Attn(z Wq, z Wk, z Wv), z, x: [n, d].
struct DeqLayer {
  int n = 0, d = 0;
  std::vector<float> x, wq, wk, wv;  // x: [n, d]; w*: [d, d]
  float gamma = 0.5f;
};
std::vector<float> deq_apply(const DeqLayer& layer, const std::vector<float>& z);
struct DeqResult {
  std::vector<float> z;
  std::vector<double> residuals;  // ||f(z_k) − z_k|| / ||f(z_k)|| per iteration
  bool converged = false;
};
// Stopping rule: relative residual <= tol, or max_iter. anderson_m = 0: plain iteration.
DeqResult deq_solve(const DeqLayer& layer, double tol, int max_iter, int anderson_m);

// Focus over a link graph. Links (neuron, from-particle, to-particle), stakes per neuron.
struct LinkGraph {
  std::int64_t particles = 0, neurons = 0;
  std::vector<std::uint32_t> neuron, from, to;  // one entry per link
  std::vector<std::uint64_t> stake;              // [neurons]
  std::vector<std::string> particle_names, neuron_names;  // optional (CSV input)
};
LinkGraph read_links_csv(const std::string& links_path, const std::string& stakes_path);
// The same from bytes held in memory (the names are used in error messages).
LinkGraph parse_links_csv(std::string_view links, std::string_view stakes, const std::string& links_name,
                          const std::string& stakes_name);
LinkGraph generate_links(std::int64_t links, std::int64_t particles, std::int64_t neurons, std::uint64_t seed);

enum class FocusMode { cyber, pagerank, trikernel };
// The tri-kernel's heat operator H(φ) = exp(−t G) φ. laplacian (default, the cyber specification:
// "H_τ = exp(−τL)", L = D − A the graph Laplacian, the same L as the springs term): A = W + Wᵀ for
// the link weights W normalised per source, D = diag(row sums of A). random_walk: G = I − Pᵀ with
// P the diffusion step's transition matrix (attend's earlier default; ranks differ).
enum class HeatKernel { laplacian, random_walk };
struct FocusOptions {
  FocusMode mode = FocusMode::cyber;
  double damping = 0.85;
  double tolerance = 1e-3;   // L∞ change between iterations (go-cyber's default tolerance)
  int max_iter = 1000;
  // tri-kernel: φ ← normalise(w_diffusion·D(φ) + w_springs·S(φ) + w_heat·H(φ))
  //   D(φ) = d·Pᵀφ + (1 − d)/N;  S(φ): (L + μI) s = μ φ;  H(φ) = exp(−t G) φ (HeatKernel above)
  double w_diffusion = 0.5, w_springs = 0.25, w_heat = 0.25;
  double screening = 1.0;    // μ in (L + μI) s = μ φ
  double heat_time = 1.0;    // t in exp(−t G) φ
  HeatKernel heat = HeatKernel::laplacian;
  int heat_terms = 0;        // terms of its Poisson series (0: until the tail left is < 1e-15)
  int cg_iter = 50;
  double cg_tol = 1e-10;
  int threads = 0;
};
struct FocusResult {
  std::vector<double> rank;     // [particles]
  std::vector<double> entropy;  // [particles] (cyber mode)
  std::vector<double> karma;    // [neurons]   (cyber mode)
  int iterations = 0;
  std::int64_t unique_pairs = 0;
  std::size_t memory_bytes = 0;  // the CSR structures built
};
FocusResult focus(const LinkGraph& g, const FocusOptions& opts);

// ------------------------------------------------------------------------- 3. flow
// softmax(s / temperature) per row of s: [rows, cols], via attend::attention.
std::vector<double> softmax_temperature(const std::vector<float>& s, int rows, int cols, float temperature);
// Sinkhorn attention: exp(s/τ) alternately row- and column-normalised; iteration 1 (one row
// normalisation) is the softmax. Returns the matrix after `iterations` rounds and the max
// deviation of row and column sums from 1 after each round.
struct SinkhornResult {
  std::vector<double> p;
  std::vector<double> deviation;
};
SinkhornResult sinkhorn(const std::vector<float>& s, int n, float temperature, int iterations);

// Token particles on the unit sphere: ẋ_i = P_{x_i}(Σ_j softmax_j(β⟨Q x_i, K x_j⟩) V x_j)
// (normalised) or ẋ_i = P_{x_i}((1/n) Σ_j e^{β⟨Q x_i, K x_j⟩} V x_j) (unnormalised). Euler steps,
// renormalised to the sphere.
struct FlowOptions {
  int n = 32, d = 3;
  float beta = 1.0f, dt = 0.05f;
  int steps = 200;
  bool unnormalised = false;
  bool identity = true;                // Q = K = V = I; otherwise random ones from seed
  double cluster_cos = 0.999;          // two particles share a cluster when cos >= this
  std::uint64_t seed = 3;
  bool keep_path = false;              // keep every step's positions in FlowTrace::path
};
struct FlowTrace {
  std::vector<int> clusters;           // per step (incl. 0)
  std::vector<double> mean_cos;        // per step
  std::vector<double> energy;          // E = 1/(2βn²) Σ_ij e^{β⟨x_i,x_j⟩} per step
  std::vector<float> x;                // final positions [n, d]
  std::vector<float> path;             // [steps + 1, n, d] when FlowOptions::keep_path, else empty
};
FlowTrace token_flow(const FlowOptions& opts);
// Greedy clusters of unit vectors x [n, d]: i (in order) seeds a cluster of every unlabelled j with
// cos(x_i, x_j) >= cos_min. Returns a label per vector (0, 1, ... in order of their seeds).
std::vector<int> cluster_labels(const std::vector<float>& x, int n, int d, double cos_min);
std::vector<float> flow_velocity(const std::vector<float>& x, int n, int d, float beta, bool unnormalised,
                                 const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v);

}  // namespace attend::graph
