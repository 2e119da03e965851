#version 130
// Static geometry: lighting is already in the vertex colours.
in vec4 colour;
out vec4 frag;

void main() {
    frag = vec4(colour.rgb, 1.0);
}
