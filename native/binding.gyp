{
  "targets": [
    {
      "target_name": "ticketlab_blas",
      "sources": ["blas.c"],
      "cflags": ["-O3", "-fno-math-errno", "-pthread"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["OS=='mac'", { "libraries": ["-framework Accelerate"] }],
        ["OS=='linux'", { "libraries": ["-l:libblas.so.3", "-lm"] }]
      ]
    }
  ]
}
