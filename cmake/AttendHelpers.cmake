# Small helpers shared by every target of the project.

# Collect the .cpp files of the given source folders (new files are picked up on reconfigure).
function(attend_glob_sources out)
  set(all)
  foreach(dir ${ARGN})
    file(GLOB found CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${dir}/*.cpp)
    list(APPEND all ${found})
  endforeach()
  set(${out} ${all} PARENT_SCOPE)
endfunction()

function(attend_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-psabi $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>)
  if(ATTEND_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# Per-ISA translation units are named *_avx512.cpp / *_avx2.cpp; only they get the ISA flags, and
# runtime dispatch (src/core/cpu_features) decides whether their code may run. No -march=native.
function(attend_set_isa_flags sources_var)
  foreach(src ${${sources_var}})
    if(src MATCHES "_avx512\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS
        "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512bf16;-mavx512vnni;-mavx2;-mfma;-mf16c;-mbmi2;-Wno-uninitialized")
      # (GCC 12 warns inside its own avx512fintrin.h set1 helpers; the warning is a known false positive)
    elseif(src MATCHES "_avx2\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-mbmi2")
    endif()
    # The model's GEMM and activation bodies build at -O2 without UBSan in sanitizer builds (which
    # use -O1): otherwise their register tiles live on the stack behind a check per access (clang
    # then emits 4 FMAs for the 6 × 4 tile instead of 54, objdump), and every model test under the
    # sanitizers would run its products tens of times slower. ASan (or TSan) still instruments them.
    if(ATTEND_SANITIZE AND src MATCHES "/(gemm|gemm_bf16|activation)_(scalar|avx2|avx512)\\.cpp$")
      set_property(SOURCE ${src} APPEND PROPERTY COMPILE_OPTIONS "-O2;-fno-sanitize=undefined")
    endif()
  endforeach()
endfunction()

function(attend_apply_sanitizers target)
  if(ATTEND_SANITIZE)
    string(REPLACE ";" "," san "${ATTEND_SANITIZE}")
    target_compile_options(${target} PUBLIC -fsanitize=${san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${target} PUBLIC -fsanitize=${san})
  endif()
endfunction()
