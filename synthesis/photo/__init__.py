"""Photo digital human, Django-free: one portrait photo -> a talking clip (face-mesh warp of jaw, lips and
eyelids, a synthesized mouth interior, blinks, small head motion and breathing)."""
