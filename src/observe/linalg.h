#pragma once
// Small dense linear algebra for the observatory (matrices of a few hundred rows at most).
#include <cstdint>
#include "attend/span.h"
#include <vector>

namespace attend::observe::linalg {

// Eigen-decomposition of a symmetric [m, m] matrix by cyclic Jacobi rotations: values descending,
// vecs [m, m] with eigenvector c in row c.
void symmetric_eigen(Span<const double> a, std::int64_t m, std::vector<double>& values, std::vector<double>& vecs);
// c = a · b: a [r, k], b [k, c_cols].
std::vector<double> matmul(Span<const double> a, Span<const double> b, std::int64_t r, std::int64_t k, std::int64_t c);
double frobenius(Span<const double> a);
// The R of a thin Householder QR of a [rows, cols] row-major matrix (rows >= cols): [cols, cols],
// upper triangular, with a = Q·R for some Q with orthonormal columns (signs as they fall).
std::vector<double> qr_r(Span<const double> a, std::int64_t rows, std::int64_t cols);
// Singular values (descending) of a small square [m, m] matrix by one-sided Jacobi rotations.
std::vector<double> small_singular_values(Span<const double> a, std::int64_t m);

}  // namespace attend::observe::linalg
