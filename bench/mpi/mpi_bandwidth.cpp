// MPI ring-step bandwidth between ranks: every rank sends B bytes to rank + 1 while receiving
// B bytes from rank − 1 (exactly one ring-attention step), repeated; prints median, min, max.
// Run: mpirun --oversubscribe --allow-run-as-root -np 2 build/tests/mpi_bandwidth [MiB...]
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  std::vector<double> mib_list;
  for (int i = 1; i < argc; ++i) mib_list.push_back(std::atof(argv[i]));
  if (mib_list.empty()) mib_list = {0.25, 1, 4, 16, 64};
  const int next = (rank + 1) % ranks, prev = (rank + ranks - 1) % ranks;
  for (double mib : mib_list) {
    const std::size_t bytes = static_cast<std::size_t>(mib * 1048576.0);
    std::vector<char> out(bytes, 1), in(bytes);
    std::vector<double> gbs;
    for (int r = 0; r < 7; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = MPI_Wtime();
      const int reps = 8;
      for (int k = 0; k < reps; ++k) {
        MPI_Request q[2];
        MPI_Irecv(in.data(), static_cast<int>(bytes), MPI_BYTE, prev, 0, MPI_COMM_WORLD, &q[0]);
        MPI_Isend(out.data(), static_cast<int>(bytes), MPI_BYTE, next, 0, MPI_COMM_WORLD, &q[1]);
        MPI_Waitall(2, q, MPI_STATUSES_IGNORE);
      }
      double t = MPI_Wtime() - t0, worst = 0;
      MPI_Allreduce(&t, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      gbs.push_back(static_cast<double>(bytes) * reps / worst * 1e-9);  // per-rank send rate
    }
    std::sort(gbs.begin(), gbs.end());
    if (rank == 0)
      std::printf("%d ranks, %8.2f MiB per step: median %.2f GB/s per rank (min %.2f, max %.2f, 7 runs)\n", ranks, mib,
                  gbs[3], gbs.front(), gbs.back());
  }
  MPI_Finalize();
  return 0;
}
