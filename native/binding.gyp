{
  "variables": {
    "ticketlab_onednn%": "<!(node -p \"process.env.TICKETLAB_ONEDNN === '1' ? 1 : 0\")",
    "ticketlab_blas%": "<!(node -p \"process.env.TICKETLAB_BLAS === '1' ? 1 : 0\")"
  },
  "targets": [
    {
      "target_name": "ticketlab_blas",
      "sources": ["blas.c", "sgemm.c", "dnnl.c", "trainer.c", "layers.c"],
      "cflags": ["-O3", "-fno-math-errno", "-pthread"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["OS=='linux'", { "libraries": ["-lm"] }],
        [
          "ticketlab_blas==1 and OS=='mac'",
          { "defines": ["TICKETLAB_BLAS"], "libraries": ["-framework Accelerate"] }
        ],
        [
          "ticketlab_blas==1 and OS!='mac'",
          { "defines": ["TICKETLAB_BLAS"], "libraries": ["-l:libblas.so.3"] }
        ],
        [
          "ticketlab_onednn==1",
          { "defines": ["TICKETLAB_DNNL"], "libraries": ["-ldl"] }
        ]
      ]
    }
  ]
}
