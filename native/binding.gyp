{
  "variables": {
    "ticketlab_onednn%": "<!(node -p \"process.env.TICKETLAB_ONEDNN === '1' ? 1 : 0\")"
  },
  "targets": [
    {
      "target_name": "ticketlab_blas",
      "sources": ["blas.c", "dnnl.c", "trainer.c"],
      "cflags": ["-O3", "-fno-math-errno", "-pthread"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["OS=='mac'", { "libraries": ["-framework Accelerate"] }],
        ["OS=='linux'", { "libraries": ["-l:libblas.so.3", "-lm"] }],
        [
          "ticketlab_onednn==1",
          { "defines": ["TICKETLAB_DNNL"], "libraries": ["-ldl"] }
        ]
      ]
    }
  ]
}
