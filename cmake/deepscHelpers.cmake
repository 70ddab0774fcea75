# Helpers shared by every deepsc target.

# A tiny interface target that carries the precompiled <torch/torch.h>; every torch-using target
# reuses the one PCH built for deepsc_pch. With DEEPSC_UNITY_BUILD the target also compiles in
# unity batches, since loading the PCH (not code generation) dominates each translation unit.
function(deepsc_use_torch_pch target)
  if(DEEPSC_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES
      UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${DEEPSC_UNITY_BATCH_SIZE})
    # GCC's -Wsubobject-linkage is meant for headers, and in a unity batch every .cpp is one
    # (test fixtures in anonymous namespaces would warn).
    target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-Wno-subobject-linkage>)
  endif()
  if(DEEPSC_USE_PCH AND TARGET deepsc_pch)
    target_precompile_headers(${target} REUSE_FROM deepsc_pch)
    # The PCH is built -fPIC (for the libraries); an executable's default -fPIE would make GCC
    # silently ignore it, so executables compile -fPIC too (a PIE links from PIC objects).
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE")
      set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
      target_compile_options(${target} PRIVATE -fPIC)
    endif()
  endif()
endfunction()

# Warnings for the project's own code only (never global flags).
function(deepsc_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wno-unused-parameter>)
endfunction()
