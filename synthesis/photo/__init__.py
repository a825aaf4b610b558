"""Photo digital human, Django-free: `detect.check_photo` grades an uploaded portrait (format, size, one face,
face share, pose, eyes, occlusion, lighting, sharpness, real photo) and draws a marked-up preview;
`talking.render_talking_photo` turns one portrait photo into a talking clip (face-mesh warp of jaw, lips and
eyelids, a synthesized mouth interior, blinks, small head motion and breathing); `card` lays out a digital-human
business card (text, logo, QR code) and composes a talking clip into its video window."""
