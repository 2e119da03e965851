#version 130
// Moving actors: ambient + a key from the front of house + soft-edged spotlights, no shadows.
// Mirrors cinestage.render.lighting.bake (which lights the static venue) plus a specular term.
const int MAX_SPOTS = 8;
uniform vec3 ambient;
uniform vec3 key_dir;
uniform vec3 key_colour;
uniform int n_spots;
uniform vec3 spot_pos[MAX_SPOTS];
uniform vec3 spot_dir[MAX_SPOTS];
uniform vec3 spot_colour[MAX_SPOTS];
uniform vec2 spot_cone[MAX_SPOTS];
in vec3 world_pos;
in vec3 camera_pos;
in vec3 world_normal;
in vec4 colour;
out vec4 frag;

void main() {
    vec3 n = normalize(world_normal);
    vec3 v = normalize(camera_pos - world_pos);
    // Two-sided surfaces (curtain folds, thin panels) face the viewer.
    if (dot(n, v) < 0.0) n = -n;
    vec3 light = ambient + key_colour * max(dot(n, -key_dir), 0.0);
    vec3 spec = vec3(0.0);
    for (int i = 0; i < n_spots; ++i) {
        vec3 to_light = spot_pos[i] - world_pos;
        float dist = length(to_light);
        vec3 l = to_light / dist;
        float cos_angle = dot(-l, spot_dir[i]);
        float cone = smoothstep(spot_cone[i].y, spot_cone[i].x, cos_angle);
        float falloff = 1.0 / (1.0 + 0.02 * dist * dist);
        float lambert = max(dot(n, l), 0.0);
        light += spot_colour[i] * cone * falloff * lambert;
        vec3 h = normalize(l + v);
        spec += spot_colour[i] * cone * falloff * pow(max(dot(n, h), 0.0), 24.0) * 0.15;
    }
    vec3 rgb = colour.rgb * light + spec;
    // Gentle filmic shoulder so bright spots roll off instead of clipping.
    rgb = rgb / (1.0 + 0.35 * rgb);
    frag = vec4(pow(rgb * 1.25, vec3(1.0 / 1.6)), 1.0);
}
